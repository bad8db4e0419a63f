// SPDX-License-Identifier: Apache-2.0
#include "harness/run/runner.h"

#include "harness/run/aggregate.h"
#include "harness/run/env_info.h"
#include "harness/error.h"
#include "harness/run/progress.h"
#include "harness/run/run_store.h"
#include "harness/task/metric.h"

#include <chrono>
#include <iostream>
#include <optional>
#include <set>

namespace kvbench {
namespace {

using nlohmann::json;

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

// The engine request of one sample: the run's generation section merged with the sample's own
// limits and stops, plus the per-run settings (read here for every sample, never cached in an
// engine, which consecutive runs share).
GenerationSettings generation_for(const Sample& sample, const json& resolved) {
  const json& generation = resolved["generation"];
  GenerationSettings g;
  if (!generation["max_new_tokens"].is_null()) {
    g.max_new_tokens = generation["max_new_tokens"].get<int>();
  } else {
    KVBENCH_CHECK_CONFIG(sample.max_new_tokens > 0, "generation.max_new_tokens: the task gives no "
                         "value for sample ", sample.id, "; set it in the config");
    g.max_new_tokens = sample.max_new_tokens;
  }
  g.stop = generation["stop"].get<std::vector<std::string>>();
  g.stop.insert(g.stop.end(), sample.stop.begin(), sample.stop.end());
  g.stop_token_ids = generation["stop_token_ids"].get<std::vector<int64_t>>();
  g.stop_token_ids.insert(g.stop_token_ids.end(), sample.stop_token_ids.begin(),
                          sample.stop_token_ids.end());
  g.prefill_chunk = generation["prefill_chunk"].get<int>();
  const json& task_params = resolved["task"]["params"];
  if (task_params.contains("enable_thinking") && task_params["enable_thinking"].is_boolean())
    g.enable_thinking = task_params["enable_thinking"].get<bool>();
  g.per_step_accounting = resolved["output"]["per_step_accounting"].get<bool>();
  return g;
}

}  // namespace

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
  plan.hash = run_hash(run.resolved, plan.dataset_sha256);
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

RunOutcome execute_run(RunPlan& plan, Engine& engine, const RunOptions& options) {
  plan.context.tokenizer = engine.tokenizer();
  plan.context.malformed->clear();
  std::vector<Sample> samples = select_samples(plan.task->samples(plan.context), plan.run.resolved["task"]);
  const MalformedLog& malformed = *plan.context.malformed;
  if (malformed.skipped() > 0) {
    std::cerr << "[data] skipped " << malformed.skipped()
              << " malformed record(s) (task.on_malformed: skip); first: "
              << malformed.to_json()["examples"][0].get<std::string>() << "\n";
  }
  std::vector<std::unique_ptr<Metric>> metrics;
  for (const auto& name : plan.task->metrics(plan.context)) {
    const auto* entry = MetricRegistry::instance().find(name);
    KVBENCH_ASSERT(entry != nullptr, "task ", plan.run.resolved["task"]["name"], " names metric '",
                   name, "' which is not registered");
    metrics.push_back(entry->make(default_params(entry->params)));
  }

  RunStore store(plan.dir);
  if (options.retry_errors) store.drop_error_rows();
  json config = plan.run.resolved;
  config["run"] = {{"hash", plan.hash}, {"label", plan.label}, {"dataset_sha256", plan.dataset_sha256},
                   {"axes", plan.run.axes}};
  store.write_json("config.json", config);
  json env = collect_env_info();
  env["engine"] = engine.describe();
  store.write_json("env.json", env);

  std::vector<std::string> selected_ids;
  size_t already = 0;
  for (const auto& s : samples) {
    selected_ids.push_back(s.id);
    already += store.has_sample(s.id) ? 1 : 0;
  }
  RunOutcome outcome;
  outcome.dir = plan.dir;
  outcome.label = plan.label;
  outcome.skipped = already;
  json run_status = {{"status", "running"}, {"started", now_iso8601()}, {"selected", samples.size()},
                     {"recorded", already}, {"malformed", malformed.to_json()}};
  store.write_run_status(run_status);

  std::optional<Progress> progress;
  if (options.progress) progress.emplace(plan.label, samples.size(), already);
  bool interrupted = false;
  for (const auto& sample : samples) {
    if (store.has_sample(sample.id)) continue;
    if (options.stop && options.stop->load()) {
      interrupted = true;
      break;
    }
    json row = {{"id", sample.id}, {"references", sample.references}, {"metadata", sample.metadata}};
    auto start = std::chrono::steady_clock::now();
    try {
      GenerationSettings generation = generation_for(sample, plan.run.resolved);
      SampleResult result = engine.run(sample, generation);
      Scores scores;
      for (const auto& metric : metrics) {
        for (const auto& [name, value] : metric->score(result.prediction, sample.references, sample.metadata)) {
          KVBENCH_ASSERT(scores.count(name) == 0, "two metrics produce the score '", name, "'");
          scores[name] = value;
        }
      }
      row["prompt_sha256"] = result.prompt_sha256;
      row["input_tokens"] = result.input_tokens;
      row["output_tokens"] = result.output_tokens;
      row["prediction"] = result.prediction;
      row["scores"] = scores;
      row["timing"] = result.timing;
      row["memory"] = result.memory;
      row["kv"] = result.kv;
      row["error"] = nullptr;
    } catch (const std::exception& e) {
      row["error"] = e.what();
    }
    row["timing"]["sample_ms"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    store.append_sample(row);
    ++outcome.ran;
    if (progress) progress->finish_sample(!row["error"].is_null(), row.value("input_tokens", int64_t{-1}));
  }
  if (progress) progress->finish();

  outcome.metrics = aggregate_samples(selected_ids, store.rows());
  outcome.metrics["n_samples"]["malformed_skipped"] = malformed.skipped();
  outcome.metrics["run"] = {{"hash", plan.hash}, {"label", plan.label},
                            {"task", plan.run.resolved["task"]["name"]},
                            {"protocol", plan.run.resolved["task"]["protocol"]},
                            {"model", plan.run.resolved["model"]["name"]},
                            {"method", plan.run.resolved["method"]["name"]},
                            {"method_params", plan.run.resolved["method"]["params"]}};
  store.write_json("metrics.json", outcome.metrics);
  const json& n = outcome.metrics["n_samples"];
  bool complete = !interrupted && n["missing"] == 0 && n["errors"] == 0;
  outcome.status = complete ? "complete" : "partial";
  run_status["status"] = outcome.status;
  run_status["finished"] = now_iso8601();
  run_status["recorded"] = n["recorded"];
  run_status["errors"] = n["errors"];
  run_status["missing"] = n["missing"];
  run_status["interrupted"] = interrupted;
  store.write_run_status(run_status);
  return outcome;
}

}  // namespace kvbench
