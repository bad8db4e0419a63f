// SPDX-License-Identifier: Apache-2.0
#include "harness/cli/rescore.h"

#include "harness/error.h"
#include "harness/json_text.h"
#include "harness/run/aggregate.h"
#include "harness/run/record_schema.h"
#include "harness/run/run_store.h"
#include "harness/run/runner.h"
#include "harness/run/sample_parts.h"
#include "harness/task/task.h"

#include <fstream>
#include <sstream>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  KVBENCH_CHECK_INPUT(bool(in), path.string(), ": cannot read");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json parse_file(const fs::path& path) {
  return parse_json_text(read_text(path), ErrorKind::kInput, path.string());
}

}  // namespace

RescoreOutcome rescore_run(const fs::path& dir) {
  RescoreOutcome outcome;
  outcome.dir = dir;
  KVBENCH_CHECK_INPUT(fs::is_regular_file(dir / "config.json"), (dir / "config.json").string(),
                      ": missing (not a run directory)");
  RunStore store(dir);  // holds the run's lock; a torn last line is cut off as a resume would
  const json config = parse_file(dir / "config.json");
  KVBENCH_CHECK_INPUT(config.contains("/task/name"_json_pointer) && config["task"]["name"].is_string(),
                      (dir / "config.json").string(), ": field 'task.name': missing");
  const std::string task_name = config["task"]["name"].get<std::string>();
  const auto* entry = TaskRegistry::instance().find(task_name);
  KVBENCH_CHECK_INPUT(entry != nullptr, (dir / "config.json").string(), ": field 'task.name': task '", task_name,
                      "' is not in this kvbench build");
  TaskContext context;
  context.protocol = config["task"].value("protocol", "");
  context.params = config["task"].value("params", json::object());
  context.seed = config.value("seed", uint64_t{0});
  if (config["task"].contains("data_root") && config["task"]["data_root"].is_string())
    context.data_root = config["task"]["data_root"].get<std::string>();
  std::unique_ptr<Task> task = entry->make(context.params);
  const auto metrics = make_task_metrics(*task, context, task_name);

  // Rows in file order; each re-dumped row is byte-identical unless its scores changed (nlohmann
  // writes what the runner wrote: sorted keys, shortest round-trip doubles).
  // Every part of a sharded run (sample_parts.h), each rewritten on its own; the store holds all
  // their locks, so no shard appends meanwhile, and it has checked that no id is in two parts.
  store.lock_all_parts();
  std::vector<json> rows;
  std::vector<std::string> file_order;
  for (const fs::path& samples_path : list_sample_parts(dir)) {
    const std::string old_samples = read_text(samples_path);
    const size_t first_row = rows.size();
    // A torn last line of a shard's part (its writer was killed; a resume would cut it) is cut.
    std::istringstream in(old_samples.substr(0, old_samples.rfind('\n') + 1));
    std::string line;
    size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) continue;
      rows.push_back(parse_json_text(line, ErrorKind::kInput, str_cat(samples_path.string(), ":", number)));
      json& row = rows.back();
      KVBENCH_CHECK_INPUT(row.contains("id") && row["id"].is_string(), samples_path.string(), ":", number,
                          ": field 'id': missing");
      upgrade_sample_row(row);  // a rescored run is rewritten in today's record schema
      file_order.push_back(row["id"].get<std::string>());
      if (row.contains("error") && !row["error"].is_null()) continue;
      KVBENCH_CHECK_INPUT(row.contains("prediction") && row["prediction"].is_string(), samples_path.string(), ":",
                          number, ": field 'prediction': missing (cannot rescore)");
      const auto references = row.value("references", std::vector<std::string>{});
      Scores scores = score_prediction(metrics, row["prediction"].get<std::string>(), references,
                                       row.value("metadata", json::object()));
      json fresh = scores;
      if (fresh != row.value("scores", json::object())) ++outcome.scores_changed;
      row["scores"] = fresh;
      ++outcome.rescored;
    }
    std::string new_samples;
    for (size_t i = first_row; i < rows.size(); ++i)
      new_samples += rows[i].dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    if (new_samples != old_samples) write_file_atomic(samples_path, new_samples);
  }

  // metrics.json: the runner's aggregate over the selected ids in task order; every other field
  // (run identity, malformed count, fields added later) is kept as it was.
  const json run_status = fs::exists(dir / "run.json") ? parse_file(dir / "run.json") : json::object();
  json old_metrics = fs::exists(dir / "metrics.json") ? parse_file(dir / "metrics.json") : json::object();
  std::vector<std::string> selected = run_status.contains("selected_ids")
                                          ? run_status["selected_ids"].get<std::vector<std::string>>()
                                          : file_order;  // runs written before selected_ids existed
  std::map<std::string, json> by_id;
  for (const auto& row : rows) by_id[row["id"].get<std::string>()] = row;
  json fresh = aggregate_samples(selected, by_id);
  fresh["schema_version"] = kRecordSchemaVersion;
  // The official aggregates as the runner computes them, over the same samples in task order.
  std::vector<Sample> ordered;
  for (const auto& id : selected) {
    Sample sample;
    sample.id = id;
    auto found = by_id.find(id);
    if (found != by_id.end()) {
      sample.references = found->second.value("references", std::vector<std::string>{});
      sample.metadata = found->second.value("metadata", json::object());
    }
    ordered.push_back(std::move(sample));
  }
  fresh["official"] = official_aggregates(task->metrics(context), metrics, ordered, by_id);
  json updated = old_metrics.is_object() ? old_metrics : json::object();
  for (const auto& [key, value] : fresh.items()) {
    if (key == "n_samples" && updated.contains("n_samples") && updated["n_samples"].is_object()) {
      const json old_n = updated["n_samples"];
      updated["n_samples"] = value;
      for (const auto& [k, v] : old_n.items())
        if (!value.contains(k)) updated["n_samples"][k] = v;  // e.g. malformed_skipped
      if (!run_status.contains("selected_ids") && old_n.contains("selected")) {
        // Without the id list, the missing samples' ids are unknown: keep the recorded counts.
        updated["n_samples"]["selected"] = old_n["selected"];
        updated["n_samples"]["missing"] = old_n.value("missing", json(0));
      }
    } else {
      updated[key] = value;
    }
  }
  const std::string old_text = fs::exists(dir / "metrics.json") ? read_text(dir / "metrics.json") : "";
  // RunStore::write_json's format: dump(2) + newline.
  const std::string new_text = updated.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  outcome.metrics_changed = new_text != old_text;
  if (outcome.metrics_changed) {
    CellLock cell_lock = store.lock_cell();
    store.write_json("metrics.json", updated);
  }
  return outcome;
}

}  // namespace kvbench
