// SPDX-License-Identifier: Apache-2.0
#include "harness/run/runner.h"

#include "harness/error.h"
#include "harness/registry.h"
#include "harness/run/model_identity.h"
#include "harness/task/metric.h"

#include <set>

namespace kvbench {

using nlohmann::json;

std::vector<std::unique_ptr<Metric>> make_task_metrics(const Task& task, const TaskContext& context,
                                                       const std::string& task_name) {
  std::vector<std::unique_ptr<Metric>> metrics;
  for (const auto& name : task.metrics(context)) {
    const auto* entry = MetricRegistry::instance().find(name);
    KVBENCH_ASSERT(entry != nullptr, "task ", task_name, " names metric '", name,
                   "' which is not registered");
    metrics.push_back(entry->make(default_params(entry->params)));
  }
  return metrics;
}

Scores score_prediction(const std::vector<std::unique_ptr<Metric>>& metrics, const std::string& prediction,
                        const std::vector<std::string>& references, const json& metadata) {
  Scores scores;
  for (const auto& metric : metrics) {
    for (const auto& [name, value] : metric->score(prediction, references, metadata)) {
      KVBENCH_ASSERT(scores.count(name) == 0, "two metrics produce the score '", name, "'");
      scores[name] = value;
    }
  }
  return scores;
}

RunPlan plan_run(const RunConfig& run) {
  RunPlan plan;
  plan.run = run;
  const json& task = run.resolved["task"];
  const auto* entry = TaskRegistry::instance().find(task["name"].get<std::string>());
  KVBENCH_ASSERT(entry != nullptr, "validated task not registered: ", task["name"]);
  plan.task = entry->make(task["params"]);
  plan.context.data_root = task["data_root"].get<std::string>();
  plan.context.protocol = task["protocol"].get<std::string>();
  plan.context.params = task["params"];
  plan.context.seed = run.resolved["seed"].get<uint64_t>();
  plan.context.on_malformed = malformed_policy_from_string(task["on_malformed"].get<std::string>());
  plan.dataset_sha256 = plan.task->dataset_sha256(plan.context);
  const json& model = run.resolved["model"];
  plan.model_structure_sha256 = model.contains("path") && model["path"].is_string()
                                    ? model_structure_sha256(model["path"].get<std::string>()) : "";
  plan.hash = run_hash(run.resolved, plan.dataset_sha256, plan.model_structure_sha256);
  plan.label = run_label(run.resolved);
  plan.dir = std::filesystem::path(run.resolved["output"]["dir"].get<std::string>()) /
             (plan.label + "__" + plan.hash);
  return plan;
}

std::vector<Sample> select_samples(std::vector<Sample> all, const json& task_config) {
  std::set<std::string> seen;
  for (const auto& s : all)
    KVBENCH_ASSERT(seen.insert(s.id).second, "task produced duplicate sample id ", s.id);
  const auto ids = task_config["ids"].get<std::vector<std::string>>();
  if (!ids.empty()) {
    std::set<std::string> wanted(ids.begin(), ids.end());
    for (const auto& id : ids)
      KVBENCH_CHECK_CONFIG(seen.count(id), "task.ids: no sample with id '", id, "' in task ",
                           task_config["name"].get<std::string>());
    std::vector<Sample> kept;
    for (auto& s : all)
      if (wanted.count(s.id)) kept.push_back(std::move(s));
    all = std::move(kept);
  }
  if (!task_config["limit"].is_null()) {
    size_t limit = task_config["limit"].get<size_t>();
    if (all.size() > limit) all.resize(limit);
  }
  return all;
}

json official_aggregates(const std::vector<std::string>& names, const std::vector<std::unique_ptr<Metric>>& metrics,
                         const std::vector<Sample>& samples, const std::map<std::string, json>& rows) {
  std::vector<ScoredSample> scored;
  size_t missing = 0, errors = 0;
  for (const Sample& sample : samples) {
    auto it = rows.find(sample.id);
    if (it == rows.end()) {
      ++missing;
      continue;
    }
    const json& row = it->second;
    const bool failed = row.contains("error") && !row["error"].is_null();
    errors += failed ? 1 : 0;
    ScoredSample s;
    s.prediction = failed ? std::string() : row.value("prediction", std::string());
    s.references = sample.references;
    s.metadata = sample.metadata;
    const json row_scores = failed ? json::object() : row.value("scores", json::object());
    for (const auto& [name, value] : row_scores.items()) s.scores[name] = value.get<double>();
    scored.push_back(std::move(s));
  }
  json out = json::object();
  for (size_t m = 0; m < metrics.size(); ++m) {
    // An error row's scores: the metric's own score of the empty prediction.
    std::vector<ScoredSample> view = scored;
    for (ScoredSample& s : view)
      if (s.scores.empty()) s.scores = metrics[m]->score(s.prediction, s.references, s.metadata);
    json entry = {{"n", view.size()}, {"missing", missing}, {"errors", errors},
                  {"error_policy", "a sample that ended with an error is scored as an empty prediction"}};
    if (missing == 0 && !view.empty()) {
      OfficialAggregate a = metrics[m]->aggregate(view);
      entry["name"] = a.name;
      entry["value"] = a.value;
      entry["scale"] = a.scale;
      entry["parts"] = a.parts;
    } else {
      entry["value"] = nullptr;
    }
    out[names.at(m)] = entry;
  }
  return out;
}

}  // namespace kvbench
