// SPDX-License-Identifier: Apache-2.0
#include "harness/run/runner.h"

#include "harness/run/aggregate.h"
#include "harness/run/env_info.h"
#include "harness/error.h"
#include "harness/run/model_identity.h"
#include "harness/run/progress.h"
#include "harness/run/record_schema.h"
#include "harness/registry.h"
#include "harness/run/run_store.h"
#include "harness/run/sample_parts.h"
#include "harness/run/sharded_run.h"
#include "harness/task/metric.h"

#include <chrono>
#include <fstream>
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

// The JSON object in `path`, or null when the file does not exist or does not parse (a run directory
// written before, whose files are rewritten now).
json read_json_if_exists(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in.good()) return nullptr;
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// metrics.json "budget": the run's attention budget, so reports never parse it back out of the
// label. label: the budget part of the run label (the run directory's last component before
// "__<hash>"); roles: {role: {"param", "value"}} as configured (budget_by_role); tokens_mean:
// {role: mean over samples of the per-layer mean resolved tokens} from kv.budget_<role> (absent when
// the method reports no layer budgets).
json budget_record(const json& resolved, const std::string& label, const json& kv_aggregate) {
  json out = {{"label", label.substr(label.rfind('/') + 1)}, {"roles", json::object()},
              {"tokens_mean", json::object()}};
  const json& method = resolved["method"];
  const auto& methods = catalog()["method"];
  auto it = methods.find(method["name"].get<std::string>());
  if (it != methods.end()) out["roles"] = budget_by_role(it->second.params, method["params"]);
  std::vector<std::string> parts = budget_roles();
  parts.push_back("total");
  for (const auto& role : parts) {
    const std::string key = "budget_" + role;
    if (kv_aggregate.is_object() && kv_aggregate.contains(key)) out["tokens_mean"][role] = kv_aggregate[key]["mean"];
  }
  return out;
}

}  // namespace

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
  std::vector<std::unique_ptr<Metric>> metrics =
      make_task_metrics(*plan.task, plan.context, plan.run.resolved["task"]["name"].get<std::string>());
  const std::vector<std::string> metric_names = plan.task->metrics(plan.context);

  // Before the lock: collect_env_info() runs commands (git), and a process started while the lock
  // is held can outlive a kill -9 of kvbench long enough to refuse the resumed run.
  // code_version() runs git once per process, so it is asked here too.
  json env = collect_env_info();
  env["engine"] = engine.describe();
  const std::string& code = code_version();
  const json& model = plan.run.resolved["model"];
  const std::string weights_sha256 =
      model.contains("path") && model["path"].is_string() ? model_weights_sha256(model["path"].get<std::string>()) : "";
  RunStore store(plan.dir, options.shard);
  const CellShare share = cell_share(plan, options.shard, options.shard_plan);
  CellLock cell_lock = store.lock_cell();  // config.json, env.json and run.json are the cell's, shared by its shards
  if (options.retry_errors) store.drop_error_rows([&share](const std::string& id) { return share.owns_sample(id); });
  const json previous_config = read_json_if_exists(plan.dir / "config.json");
  if (!store.rows().empty() && !options.allow_version_mix) {
    // Samples of one run directory come from one code version and one set of weights.
    const json previous = previous_config.is_object() ? previous_config.value("run", json::object()) : json::object();
    const std::string old_code = previous.value("code_version", std::string("(not recorded)"));
    const std::string old_weights = previous.value("weights_sha256", std::string("(not recorded)"));
    KVBENCH_CHECK_INPUT(old_code == code && old_weights == weights_sha256, (plan.dir / "config.json").string(),
                        ": its ", store.rows().size(), " recorded samples come from kvbench ", old_code, " with weights ",
                        old_weights.substr(0, 12), ", this process is kvbench ", code, " with weights ",
                        weights_sha256.substr(0, 12),
                        ": resuming would mix them; use a new --out, or --allow-version-mix to resume anyway");
  }
  json config = plan.run.resolved;
  config["run"] = {{"hash", plan.hash}, {"label", plan.label}, {"dataset_sha256", plan.dataset_sha256},
                   {"axes", plan.run.axes}, {"code_version", code}, {"weights_sha256", weights_sha256},
                   {"model_structure_sha256", plan.model_structure_sha256}};
  store.write_json("config.json", config);
  // Each earlier start of this run (a resume) stays in env.json's history, oldest first.
  json previous_env = read_json_if_exists(plan.dir / "env.json");
  json history = previous_env.is_object() ? previous_env.value("history", json::array()) : json::array();
  if (previous_env.is_object()) {
    previous_env.erase("history");
    history.push_back(previous_env);
  }
  env["history"] = history;
  store.write_json("env.json", env);

  std::vector<std::string> selected_ids;
  size_t already = 0, mine = 0, mine_already = 0;  // mine: this shard's samples (all when not sharded)
  for (const auto& s : samples) {
    selected_ids.push_back(s.id);
    already += store.has_sample(s.id) ? 1 : 0;
    const bool owned = share.owns_sample(s.id);
    mine += owned ? 1 : 0;
    mine_already += owned && store.has_sample(s.id) ? 1 : 0;
  }
  RunOutcome outcome;
  outcome.dir = plan.dir;
  outcome.label = plan.label;
  outcome.skipped = mine_already;
  // selected_ids: the task order metrics.json aggregates in (`kvbench rescore` re-aggregates in it).
  json run_status = {{"schema_version", kRecordSchemaVersion}, {"status", "running"}, {"started", now_iso8601()}, {"selected", samples.size()},
                     {"recorded", already}, {"malformed", malformed.to_json()},
                     {"selected_ids", selected_ids}};
  store.write_run_status(run_status);
  const std::string shard_started = now_iso8601();
  if (options.shard.sharded())
    store.write_json(shard_status_name(options.shard),
                     shard_status(options.shard, share, "running", shard_started, "", samples, store.rows(), false));
  cell_lock.release();

  std::optional<Progress> progress;
  if (options.progress) progress.emplace(plan.label, mine, mine_already);
  bool interrupted = false;
  // Samples run in batches of generation.batch_size (task order, only this shard's pending ones);
  // each finished sample is appended (and flushed) at once.
  const size_t batch_size = plan.run.resolved["generation"].value("batch_size", int64_t{1});
  using Clock = std::chrono::steady_clock;
  // sample_ms < 0: the time since `start` (a sample run alone: generation and scoring).
  auto record = [&](const Sample& sample, const SampleResult* result, const std::string& error, double sample_ms,
                    Clock::time_point start) {
    json row = {{"id", sample.id}, {"references", sample.references}, {"metadata", sample.metadata},
                {"kvbench_version", code}, {"schema_version", kRecordSchemaVersion}};
    if (result != nullptr) {
      try {
        Scores scores = score_prediction(metrics, result->prediction, sample.references, sample.metadata);
        row["prompt_sha256"] = result->prompt_sha256;
        row["input_tokens"] = result->input_tokens;
        row["output_tokens"] = result->output_tokens;
        row["prediction"] = result->prediction;
        row["scores"] = scores;
        row["timing"] = result->timing;
        row["memory"] = result->memory;
        row["kv"] = result->kv;
        row["error"] = nullptr;
      } catch (const std::exception& e) {
        row["error"] = e.what();
      }
    } else {
      row["error"] = error;
    }
    // In a batch: the sample's share of the batch's wall time, so that the sum over samples is the
    // run's time and output tokens / sample_ms is the throughput.
    row["timing"]["sample_ms"] =
        sample_ms >= 0 ? sample_ms : std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    store.append_sample(row);
    ++outcome.ran;
    if (progress) progress->finish_sample(!row["error"].is_null(), row.value("input_tokens", int64_t{-1}));
  };
  // One sample alone: its own errors (settings, prompt, generation) land on its row.
  auto run_one = [&](const Sample& sample) {
    const Clock::time_point start = Clock::now();
    std::optional<SampleResult> result;
    std::string error;
    try {
      result = engine.run(sample, generation_for(sample, plan.run.resolved));
    } catch (const std::exception& e) {
      error = e.what();
    }
    record(sample, result ? &*result : nullptr, error, -1, start);
  };
  std::vector<const Sample*> pending;
  for (const auto& sample : samples)
    if (!store.has_sample(sample.id) && share.owns_sample(sample.id)) pending.push_back(&sample);
  for (size_t first = 0; first < pending.size(); first += batch_size) {
    if (options.stop && options.stop->load()) {
      interrupted = true;
      break;
    }
    const std::vector<const Sample*> batch(pending.begin() + first,
                                           pending.begin() + std::min(pending.size(), first + batch_size));
    if (batch.size() == 1) {
      run_one(*batch.front());
      continue;
    }
    const Clock::time_point start = Clock::now();
    std::vector<SampleResult> results;
    try {
      std::vector<GenerationSettings> generations;
      for (const Sample* sample : batch) generations.push_back(generation_for(*sample, plan.run.resolved));
      results = engine.run_batch(batch, generations);
    } catch (const std::exception&) {
      for (const Sample* sample : batch) run_one(*sample);  // attributes the error to its sample
      continue;
    }
    const double share_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count() / batch.size();
    for (size_t i = 0; i < batch.size(); ++i) record(*batch[i], &results[i], "", share_ms, start);
  }
  if (progress) progress->finish();
  // The cell's metrics and status over all parts: every writer rewrites them as it ends, under the
  // cell lock, so the last to end (who sees every row the others appended) writes the final ones.
  cell_lock = store.lock_cell();
  store.reload_other_parts();

  outcome.metrics = aggregate_samples(selected_ids, store.rows());
  outcome.metrics["n_samples"]["malformed_skipped"] = malformed.skipped();
  outcome.metrics["official"] = official_aggregates(metric_names, metrics, samples, store.rows());
  outcome.metrics["schema_version"] = kRecordSchemaVersion;
  outcome.metrics["run"] = {{"hash", plan.hash}, {"label", plan.label},
                            {"task", plan.run.resolved["task"]["name"]},
                            {"protocol", plan.run.resolved["task"]["protocol"]},
                            {"model", plan.run.resolved["model"]["name"]},
                            {"method", plan.run.resolved["method"]["name"]},
                            {"method_params", plan.run.resolved["method"]["params"]}};
  outcome.metrics["budget"] = budget_record(plan.run.resolved, plan.label, outcome.metrics.value("kv", json::object()));
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
  if (options.shard.sharded())
    store.write_json(shard_status_name(options.shard),
                     shard_status(options.shard, share, interrupted ? "interrupted" : "finished", shard_started,
                                  now_iso8601(), samples, store.rows(), interrupted));
  return outcome;
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
