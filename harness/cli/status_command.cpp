// SPDX-License-Identifier: Apache-2.0
#include "harness/cli/status_command.h"

#include "harness/error.h"
#include "harness/run/sample_parts.h"
#include "reports/run_index.h"

#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json_or_empty(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return json::object();
  json value = json::parse(in, nullptr, /*allow_exceptions=*/false);
  KVBENCH_CHECK_INPUT(!value.is_discarded(), path.string(), ": invalid JSON");
  return value;
}

json cell_status(const fs::path& dir, const fs::path& root) {
  const json config = read_json_or_empty(dir / "config.json");
  const json run = read_json_or_empty(dir / "run.json");
  json out = {{"dir", dir.string()}, {"cell", fs::relative(dir, root).string()},
              {"label", config.value("run", json::object()).value("label", "")}};
  json parts = json::array();
  std::map<std::string, json> rows;
  try {
    SampleUnion all;
    for (const auto& path : list_sample_parts(dir)) {
      SamplePart part = read_sample_part(path);
      parts.push_back({{"file", path.filename().string()}, {"rows", part.rows.size()},
                       {"torn_bytes", part.torn_bytes}});
      add_part_rows(all, std::move(part));
    }
    for (auto& row : all.rows) {
      const std::string id = row["id"].get<std::string>();  // before the move: C++17 evaluates `= x` first
      rows[id] = std::move(row);
    }
  } catch (const Error& e) {
    out["status"] = "conflict";
    out["error"] = e.what();
  }
  out["parts"] = parts;
  std::vector<std::string> selected;
  if (run.contains("selected_ids") && run["selected_ids"].is_array()) {
    selected = run["selected_ids"].get<std::vector<std::string>>();
  } else if (run.contains("selected") && run["selected"].is_number_unsigned()) {
    // A run written before run.json listed its ids: its recorded rows, and the count it selected.
    for (const auto& [id, row] : rows) selected.push_back(id);
    for (size_t i = rows.size(); i < run["selected"].get<size_t>(); ++i) selected.push_back("\n(not recorded)");
  }
  size_t recorded = 0, errors = 0;
  for (const auto& id : selected) {
    auto it = rows.find(id);
    if (it == rows.end()) continue;
    ++recorded;
    errors += it->second.contains("error") && !it->second["error"].is_null() ? 1 : 0;
  }
  out["selected"] = selected.size();
  out["recorded"] = recorded;
  out["errors"] = errors;
  out["missing"] = selected.size() - recorded;
  json shards = json::array();
  std::vector<fs::path> shard_files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("run.shard-", 0) == 0 && name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
      shard_files.push_back(it->path());
  }
  std::sort(shard_files.begin(), shard_files.end());
  bool running = run.value("status", "") == "running";
  for (const auto& path : shard_files) {
    json shard = read_json_or_empty(path);
    running |= shard.value("status", "") == "running";
    shards.push_back(shard);
  }
  out["shards"] = shards;
  if (out.contains("status")) return out;  // conflict
  if (!selected.empty() && recorded == selected.size() && errors == 0)
    out["status"] = "complete";
  else if (run.value("status", "") == "failed")
    out["status"] = "failed";
  else if (run.empty() || selected.empty())
    out["status"] = running || run.empty() ? "started" : "partial";
  else
    out["status"] = "partial";
  out["running"] = running;  // a writer said so when it started and has not ended (or was killed)
  return out;
}

}  // namespace

json collect_status(const std::vector<std::string>& runs) {
  json cells = json::array();
  std::set<std::string> seen;
  for (const auto& root_text : runs) {
    const fs::path root = fs::weakly_canonical(fs::path(root_text));
    for (const auto& dir : find_run_dirs({root_text})) {
      json cell = cell_status(dir, root);
      if (seen.insert(cell["dir"].get<std::string>()).second) cells.push_back(cell);
    }
    // Cells of the sweeps written into this folder that have no directory yet.
    std::error_code ec;
    if (!fs::is_directory(root)) continue;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.rfind("sweep-", 0) != 0 || it->path().extension() != ".json") continue;
      const json manifest = read_json_or_empty(it->path());
      for (const auto& cell : manifest.value("cells", json::array())) {
        const fs::path dir = root / cell.value("key", "");
        if (!seen.insert(dir.string()).second) continue;
        cells.push_back({{"dir", dir.string()}, {"cell", cell.value("key", "")}, {"label", cell.value("label", "")},
                         {"status", "missing"}, {"parts", json::array()}, {"shards", json::array()},
                         {"manifest", it->path().filename().string()}});
      }
    }
  }
  std::sort(cells.begin(), cells.end(), [](const json& a, const json& b) { return a["cell"] < b["cell"]; });
  return cells;
}

CLI::App* add_status_command(CLI::App& app, StatusArgs& args) {
  CLI::App* cmd = app.add_subcommand("status", "Cells of a run folder: complete / partial / failed / missing, per shard");
  cmd->add_option("runs", args.runs, "run folders (output.dir of a sweep) or run directories")->required();
  cmd->add_flag("--json", args.json, "machine-readable output");
  cmd->footer(
      "A cell is complete when every selected sample is recorded without error (in any part file),\n"
      "partial when some are missing or errored, failed when the run failed as a whole, missing when a\n"
      "sweep written into the folder (sweep-*.json) expands to it but it has no directory yet.\n"
      "Exit code 0 when every cell is complete, 1 otherwise.\n"
      "Examples:\n"
      "  kvbench status runs/study\n"
      "  kvbench status runs/study --json");
  return cmd;
}

int run_status_command(const StatusArgs& args) {
  const json cells = collect_status(args.runs);
  std::map<std::string, size_t> counts;
  for (const auto& cell : cells) counts[cell["status"].get<std::string>()]++;
  if (args.json) {
    std::cout << cells.dump(2) << "\n";
  } else {
    for (const auto& cell : cells) {
      std::ostringstream line;
      line << cell["status"].get<std::string>();
      if (cell.contains("selected"))
        line << "  " << cell["recorded"].get<size_t>() << "/" << cell["selected"].get<size_t>() << " recorded, "
             << cell["errors"].get<size_t>() << " errors" << (cell.value("running", false) ? ", running" : "");
      line << "  " << cell["cell"].get<std::string>();
      std::cout << line.str() << "\n";
      if (cell.contains("error")) std::cout << "    " << cell["error"].get<std::string>() << "\n";
      for (const auto& shard : cell["shards"]) {
        std::cout << "    shard " << shard.value("shard", "?") << ": " << shard.value("status", "?") << ", "
                  << shard.value("recorded", json(0)).dump() << "/" << shard.value("selected", json(0)).dump()
                  << " of its samples, " << shard.value("errors", json(0)).dump() << " errors, host "
                  << shard.value("host", "?");
        const json slurm = shard.value("slurm", json::object());
        if (slurm.contains("SLURM_ARRAY_JOB_ID"))
          std::cout << ", job " << slurm["SLURM_ARRAY_JOB_ID"].get<std::string>() << "_"
                    << slurm.value("SLURM_ARRAY_TASK_ID", "?");
        std::cout << "\n";
      }
    }
    std::cout << cells.size() << (cells.size() == 1 ? " cell" : " cells") << ":";
    bool first = true;
    for (const auto& [status, n] : counts) {
      std::cout << (first ? " " : ", ") << n << " " << status;
      first = false;
    }
    std::cout << "\n";
  }
  return counts.size() == 1 && counts.count("complete") ? 0 : 1;
}

}  // namespace kvbench
