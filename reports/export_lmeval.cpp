// SPDX-License-Identifier: Apache-2.0
#include "reports/export_lmeval.h"

#include "reports/report_plots.h"
#include "reports/stats.h"

#include <ctime>

namespace kvbench {
namespace {

using nlohmann::json;

// "exact_match,strict-match" -> ("exact_match", "strict-match"); "acc" -> ("acc", "none").
std::pair<std::string, std::string> metric_and_filter(const std::string& score) {
  size_t comma = score.find(',');
  if (comma == std::string::npos) return {score, "none"};
  return {score.substr(0, comma), score.substr(comma + 1)};
}

}  // namespace

std::vector<LmEvalResults> lmeval_results(const ResultGrid& grid) {
  std::vector<LmEvalResults> out;
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    json doc = {{"results", json::object()},  {"group_subtasks", json::object()}, {"configs", json::object()},
                {"versions", json::object()}, {"n-shot", json::object()},         {"higher_is_better", json::object()},
                {"n-samples", json::object()}};
    std::string model, method, params, device, git_sha;
    for (const auto& task : grid.tasks) {
      const GridCell* cell = grid.cell(r, task);
      if (!cell) continue;
      const RunRecord& first = *cell->runs.front();
      model = first.model, method = first.method, params = first.method_params, device = first.device;
      git_sha = first.env.value("git_sha", std::string());
      json result = {{"alias", task}, {"name", task}};
      size_t scored = 0, selected = 0;
      for (const RunRecord* run : cell->runs) scored += run->scored, selected += run->selected;
      result["sample_len"] = scored;
      json higher = json::object();
      auto names = grid.task_scores.find(task);
      if (names != grid.task_scores.end())
        for (const auto& score : names->second) {
          std::vector<double> xs = cell->scores(score);
          if (xs.empty()) continue;
          MeanStderr s = mean_stderr(xs);
          auto [metric, filter] = metric_and_filter(score);
          result[metric + "," + filter] = s.mean;
          result[metric + "_stderr," + filter] = s.stderr_;
          higher[metric] = true;  // every kvbench scorer: higher is better
        }
      doc["results"][task] = result;
      doc["group_subtasks"][task] = json::array();
      doc["configs"][task] = {{"task", task},
                              {"output_type", "generate_until"},
                              {"kvbench_protocol", first.protocol},
                              {"kvbench_dataset_sha256", first.dataset_sha256},
                              {"kvbench_run_dir", first.dir.string()},
                              {"kvbench_status", cell->flag.empty() ? "complete" : cell->flag}};
      doc["versions"][task] = first.kvbench_version.empty() ? json(nullptr) : json(first.kvbench_version);
      doc["n-shot"][task] = 0;
      doc["higher_is_better"][task] = higher;
      doc["n-samples"][task] = {{"original", selected}, {"effective", scored}};
    }
    if (doc["results"].empty()) continue;
    doc["config"] = {{"model", "kvbench"},
                     {"model_args", "model=" + model + ",method=" + method + ",method_params=" + params},
                     {"batch_size", "1"},
                     {"batch_sizes", json::array()},
                     {"device", device},
                     {"limit", nullptr},
                     {"bootstrap_iters", 0}};
    doc["git_hash"] = git_sha;
    doc["date"] = static_cast<double>(std::time(nullptr));
    doc["model_name"] = model;
    doc["model_source"] = "kvbench";
    std::string row;
    for (const auto& k : grid.rows[r].key) row += (row.empty() ? "" : "__") + k;
    out.push_back({"results_" + file_safe(row), doc});
  }
  return out;
}

}  // namespace kvbench
