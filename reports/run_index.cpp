// SPDX-License-Identifier: Apache-2.0
#include "reports/run_index.h"

#include "harness/error.h"
#include "harness/json_text.h"
#include "harness/run/record_schema.h"
#include "harness/run/sample_parts.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json_file(const fs::path& path, bool required) {
  std::ifstream in(path);
  if (!in) {
    KVBENCH_CHECK_INPUT(!required, path.string(), ": cannot read (a run directory needs it)");
    return json::object();
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_json_text(text.str(), ErrorKind::kInput, path.string());
}

double mean_of(const json& stats_parent, const char* field) {
  if (!stats_parent.is_object() || !stats_parent.contains(field)) return std::nan("");
  const json& stat = stats_parent[field];
  if (!stat.is_object() || !stat.contains("mean") || !stat["mean"].is_number()) return std::nan("");
  return stat["mean"].get<double>();
}

std::string string_at(const json& object, const json::json_pointer& pointer) {
  return object.contains(pointer) && object[pointer].is_string() ? object[pointer].get<std::string>() : "";
}

}  // namespace

const json& section(const json& object, const char* key) {
  static const json empty = json::object();
  if (!object.is_object()) return empty;
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : empty;
}

std::vector<const json*> RunRecord::scored_rows() const {
  std::vector<const json*> out;
  for (const auto& row : samples)
    if (!row.contains("error") || row["error"].is_null()) out.push_back(&row);
  return out;
}

std::vector<fs::path> find_run_dirs(const std::vector<std::string>& paths) {
  std::set<fs::path> found;
  auto consider = [&](const fs::path& dir) {
    if (!fs::is_regular_file(dir / "config.json")) return;
    json config = read_json_file(dir / "config.json", true);
    if (config.contains("run") && config["run"].is_object()) found.insert(fs::weakly_canonical(dir));
  };
  for (const auto& p : paths) {
    fs::path root(p);
    KVBENCH_CHECK_INPUT(fs::exists(root), p, ": no such run directory or folder of runs");
    if (fs::is_regular_file(root)) root = root.parent_path();
    consider(root);
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it)
      if (it->is_directory()) consider(it->path());
  }
  return {found.begin(), found.end()};
}

RunRecord load_run(const fs::path& dir) {
  RunRecord r;
  r.dir = dir;
  r.config = read_json_file(dir / "config.json", true);
  KVBENCH_CHECK_INPUT(r.config.contains("run") && r.config["run"].is_object(),
                      (dir / "config.json").string(), ": field 'run': missing (not a kvbench run directory)");
  r.env = read_json_file(dir / "env.json", false);
  r.metrics = read_json_file(dir / "metrics.json", false);
  r.run_json = read_json_file(dir / "run.json", false);
  r.samples = read_sample_union(dir).rows;  // samples.jsonl and every shard's part, as one run
  // Runs recorded under an older schema read under today's field names.
  upgrade_metrics(r.metrics);
  for (json& row : r.samples) upgrade_sample_row(row);

  const json& c = r.config;
  r.task = string_at(c, "/task/name"_json_pointer);
  r.protocol = string_at(c, "/task/protocol"_json_pointer);
  r.model = string_at(c, "/model/name"_json_pointer);
  r.method = string_at(c, "/method/name"_json_pointer);
  r.method_params = c.contains("/method/params"_json_pointer) ? c["method"]["params"].dump() : "{}";
  r.dataset_sha256 = string_at(c, "/run/dataset_sha256"_json_pointer);
  r.label = string_at(c, "/run/label"_json_pointer);
  r.hash = string_at(c, "/run/hash"_json_pointer);
  r.kvbench_version = string_at(r.env, "/kvbench_version"_json_pointer);
  r.device = string_at(r.env, "/engine/device"_json_pointer);
  if (r.device.empty()) r.device = string_at(c, "/model/device"_json_pointer);

  std::string run_status = string_at(r.run_json, "/status"_json_pointer);
  if (r.metrics.empty() || !r.metrics.contains("n_samples")) {
    r.status = run_status == "failed" ? "failed" : (run_status == "running" ? "running" : "incomplete");
    r.selected = r.run_json.value("selected", size_t{0});
    for (const auto& row : r.samples) (row.contains("error") && !row["error"].is_null() ? r.errors : r.scored)++;
    r.missing = r.selected > r.samples.size() ? r.selected - r.samples.size() : 0;
  } else {
    const json& n = r.metrics["n_samples"];
    r.selected = n.value("selected", size_t{0});
    r.scored = n.value("scored", size_t{0});
    r.errors = n.value("errors", size_t{0});
    r.missing = n.value("missing", size_t{0});
    if (run_status == "failed")
      r.status = "failed";
    else if (run_status == "running")
      r.status = "running";
    else
      r.status = (r.errors == 0 && r.missing == 0 && run_status == "complete") ? "complete" : "partial";
  }

  // Budget: metrics.json kv.budget_total mean, i.e. the recorded per-layer budgets (sink + local +
  // selected + outliers + generated tokens a layer attends at the last step, averaged over layers),
  // averaged over samples.
  r.budget_tokens = mean_of(section(r.metrics, "kv"), "budget_total");
  double input_sum = 0;
  size_t input_n = 0;
  for (const json* row : r.scored_rows())
    if (row->contains("input_tokens") && (*row)["input_tokens"].is_number()) {
      input_sum += (*row)["input_tokens"].get<double>();
      ++input_n;
    }
  if (input_n > 0) r.mean_input_tokens = input_sum / static_cast<double>(input_n);
  if (!std::isnan(r.budget_tokens) && input_n > 0 && r.mean_input_tokens > 0)
    r.budget_percent = 100.0 * r.budget_tokens / r.mean_input_tokens;
  return r;
}

std::vector<RunRecord> load_runs(const std::vector<std::string>& paths) {
  std::vector<RunRecord> runs;
  for (const auto& dir : find_run_dirs(paths)) runs.push_back(load_run(dir));
  KVBENCH_CHECK_INPUT(!runs.empty(), "no run directories (with config.json) under the given paths");
  return runs;
}

}  // namespace kvbench
