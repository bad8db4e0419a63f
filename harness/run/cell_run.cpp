// SPDX-License-Identifier: Apache-2.0
// CellRun: open a cell, run its samples, finish it (see cell_run.h).
#include "harness/run/cell_run.h"

#include "harness/error.h"
#include "harness/registry.h"
#include "harness/run/aggregate.h"
#include "harness/run/env_info.h"
#include "harness/run/model_identity.h"
#include "harness/run/record_schema.h"
#include "harness/run/sample_parts.h"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>

namespace kvbench {
namespace {

using nlohmann::json;

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
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

// metrics.json "prefill": how the recorded samples got their prefill (timing.prefill_mode: own,
// recorded = this cell computed a shared prefill, replayed = forked from one another cell computed).
json prefill_record(const std::map<std::string, json>& rows) {
  json modes = {{"own", 0}, {"recorded", 0}, {"replayed", 0}};
  for (const auto& [id, row] : rows) {
    if (!row.contains("timing") || !row["timing"].is_object()) continue;
    const std::string mode = row["timing"].value("prefill_mode", std::string("own"));
    if (modes.contains(mode)) modes[mode] = modes[mode].get<int64_t>() + 1;
  }
  return modes;
}

}  // namespace

CellRun::CellRun(RunPlan& plan, Engine& engine, const RunOptions& options)
    : plan_(plan), engine_(engine), options_(options), share_(cell_share(plan, options.shard, options.shard_plan)) {
  plan_.context.tokenizer = engine_.tokenizer();
  plan_.context.malformed->clear();
  samples_ = select_samples(plan_.task->samples(plan_.context), plan_.run.resolved["task"]);
  const MalformedLog& malformed = *plan_.context.malformed;
  if (malformed.skipped() > 0) {
    std::cerr << "[data] skipped " << malformed.skipped()
              << " malformed record(s) (task.on_malformed: skip); first: "
              << malformed.to_json()["examples"][0].get<std::string>() << "\n";
  }
  metrics_ = make_task_metrics(*plan_.task, plan_.context, plan_.run.resolved["task"]["name"].get<std::string>());
  metric_names_ = plan_.task->metrics(plan_.context);

  // Before the lock: collect_env_info() runs commands (git), and a process started while the lock
  // is held can outlive a kill -9 of kvbench long enough to refuse the resumed run.
  // code_version() runs git once per process, so it is asked here too.
  json env = collect_env_info();
  env["engine"] = engine_.describe();
  code_ = code_version();
  const json& model = plan_.run.resolved["model"];
  const std::string weights_sha256 =
      model.contains("path") && model["path"].is_string() ? model_weights_sha256(model["path"].get<std::string>()) : "";
  store_.emplace(plan_.dir, options_.shard);
  RunStore& store = *store_;
  CellLock cell_lock = store.lock_cell();  // config.json, env.json and run.json are the cell's, shared by its shards
  if (options_.retry_errors) {
    const CellShare& share = share_;
    store.drop_error_rows([&share](const std::string& id) { return share.owns_sample(id); });
  }
  const json previous_config = read_json_if_exists(plan_.dir / "config.json");
  if (!store.rows().empty() && !options_.allow_version_mix) {
    // Samples of one run directory come from one code version and one set of weights.
    const json previous = previous_config.is_object() ? previous_config.value("run", json::object()) : json::object();
    const std::string old_code = previous.value("code_version", std::string("(not recorded)"));
    const std::string old_weights = previous.value("weights_sha256", std::string("(not recorded)"));
    KVBENCH_CHECK_INPUT(old_code == code_ && old_weights == weights_sha256, (plan_.dir / "config.json").string(),
                        ": its ", store.rows().size(), " recorded samples come from kvbench ", old_code, " with weights ",
                        old_weights.substr(0, 12), ", this process is kvbench ", code_, " with weights ",
                        weights_sha256.substr(0, 12),
                        ": resuming would mix them; use a new --out, or --allow-version-mix to resume anyway");
  }
  json config = plan_.run.resolved;
  config["run"] = {{"hash", plan_.hash}, {"label", plan_.label}, {"dataset_sha256", plan_.dataset_sha256},
                   {"axes", plan_.run.axes}, {"code_version", code_}, {"weights_sha256", weights_sha256},
                   {"model_structure_sha256", plan_.model_structure_sha256}};
  store.write_json("config.json", config);
  // Each earlier start of this run (a resume) stays in env.json's history, oldest first.
  json previous_env = read_json_if_exists(plan_.dir / "env.json");
  json history = previous_env.is_object() ? previous_env.value("history", json::array()) : json::array();
  if (previous_env.is_object()) {
    previous_env.erase("history");
    history.push_back(previous_env);
  }
  env["history"] = history;
  store.write_json("env.json", env);

  size_t already = 0, mine = 0, mine_already = 0;  // mine: this shard's samples (all when not sharded)
  for (const auto& s : samples_) {
    selected_ids_.push_back(s.id);
    already += store.has_sample(s.id) ? 1 : 0;
    const bool owned = share_.owns_sample(s.id);
    mine += owned ? 1 : 0;
    mine_already += owned && store.has_sample(s.id) ? 1 : 0;
  }
  outcome_.dir = plan_.dir;
  outcome_.label = plan_.label;
  outcome_.skipped = mine_already;
  // selected_ids: the task order metrics.json aggregates in (`kvbench rescore` re-aggregates in it).
  run_status_ = {{"schema_version", kRecordSchemaVersion}, {"status", "running"}, {"started", now_iso8601()},
                 {"selected", samples_.size()}, {"recorded", already}, {"malformed", malformed.to_json()},
                 {"selected_ids", selected_ids_}};
  store.write_run_status(run_status_);
  shard_started_ = now_iso8601();
  if (options_.shard.sharded())
    store.write_json(shard_status_name(options_.shard),
                     shard_status(options_.shard, share_, "running", shard_started_, "", samples_, store.rows(), false));
  cell_lock.release();

  if (options_.progress) progress_.emplace(plan_.label, mine, mine_already);
  batch_size_ = plan_.run.resolved["generation"].value("batch_size", int64_t{1});
  for (const auto& sample : samples_)
    if (!store.has_sample(sample.id) && share_.owns_sample(sample.id)) pending_.push_back(&sample);
}

bool CellRun::is_pending(const std::string& id) const {
  return !store_->has_sample(id) && share_.owns_sample(id);
}

GenerationSettings CellRun::generation_for(const Sample& sample) const {
  const json& resolved = plan_.run.resolved;
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
  g.stop_token_ids.insert(g.stop_token_ids.end(), sample.stop_token_ids.begin(), sample.stop_token_ids.end());
  g.prefill_chunk = generation["prefill_chunk"].get<int>();
  // Per-run settings: read here for every sample, never cached in an engine, which runs share.
  const json& task_params = resolved["task"]["params"];
  if (task_params.contains("enable_thinking") && task_params["enable_thinking"].is_boolean())
    g.enable_thinking = task_params["enable_thinking"].get<bool>();
  g.per_step_accounting = resolved["output"]["per_step_accounting"].get<bool>();
  return g;
}

// sample_ms < 0: the time since `start` (a sample run alone: generation and scoring).
void CellRun::record(const Sample& sample, const SampleResult* result, const std::string& error, double sample_ms,
                     Clock::time_point start) {
  json row = {{"id", sample.id}, {"references", sample.references}, {"metadata", sample.metadata},
              {"kvbench_version", code_}, {"schema_version", kRecordSchemaVersion}};
  if (result != nullptr) {
    try {
      Scores scores = score_prediction(metrics_, result->prediction, sample.references, sample.metadata);
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
  store_->append_sample(row);
  ++outcome_.ran;
  if (progress_) progress_->finish_sample(!row["error"].is_null(), row.value("input_tokens", int64_t{-1}));
}

void CellRun::run_sample(const Sample& sample, const std::optional<PrefillUses>& shared_prefill) {
  const Clock::time_point start = Clock::now();
  std::optional<SampleResult> result;
  std::string error;
  try {
    GenerationSettings generation = generation_for(sample);
    generation.shared_prefill = shared_prefill;
    result = engine_.run(sample, generation);
  } catch (const std::exception& e) {
    error = e.what();  // its own errors (settings, prompt, generation) land on its row
  }
  record(sample, result ? &*result : nullptr, error, -1, start);
}

void CellRun::run_batch(const std::vector<const Sample*>& batch) {
  if (batch.size() == 1) {
    run_sample(*batch.front());
    return;
  }
  const Clock::time_point start = Clock::now();
  std::vector<SampleResult> results;
  try {
    std::vector<GenerationSettings> generations;
    for (const Sample* sample : batch) generations.push_back(generation_for(*sample));
    results = engine_.run_batch(batch, generations);
  } catch (const std::exception&) {
    for (const Sample* sample : batch) run_sample(*sample);  // attributes the error to its sample
    return;
  }
  const double share_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count() / batch.size();
  for (size_t i = 0; i < batch.size(); ++i) record(*batch[i], &results[i], "", share_ms, start);
}

RunOutcome CellRun::finish(bool interrupted) {
  if (progress_) progress_->finish();
  interrupted = interrupted && std::any_of(pending_.begin(), pending_.end(),
                                           [this](const Sample* sample) { return is_pending(sample->id); });
  RunStore& store = *store_;
  // The cell's metrics and status over all parts: every writer rewrites them as it ends, under the
  // cell lock, so the last to end (who sees every row the others appended) writes the final ones.
  CellLock cell_lock = store.lock_cell();
  store.reload_other_parts();

  outcome_.metrics = aggregate_samples(selected_ids_, store.rows());
  outcome_.metrics["n_samples"]["malformed_skipped"] = plan_.context.malformed->skipped();
  outcome_.metrics["official"] = official_aggregates(metric_names_, metrics_, samples_, store.rows());
  outcome_.metrics["schema_version"] = kRecordSchemaVersion;
  outcome_.metrics["run"] = {{"hash", plan_.hash}, {"label", plan_.label},
                             {"task", plan_.run.resolved["task"]["name"]},
                             {"protocol", plan_.run.resolved["task"]["protocol"]},
                             {"model", plan_.run.resolved["model"]["name"]},
                             {"method", plan_.run.resolved["method"]["name"]},
                             {"method_params", plan_.run.resolved["method"]["params"]}};
  outcome_.metrics["budget"] =
      budget_record(plan_.run.resolved, plan_.label, outcome_.metrics.value("kv", json::object()));
  outcome_.metrics["prefill"] = prefill_record(store.rows());
  store.write_json("metrics.json", outcome_.metrics);
  const json& n = outcome_.metrics["n_samples"];
  bool complete = !interrupted && n["missing"] == 0 && n["errors"] == 0;
  outcome_.status = complete ? "complete" : "partial";
  run_status_["status"] = outcome_.status;
  run_status_["finished"] = now_iso8601();
  run_status_["recorded"] = n["recorded"];
  run_status_["errors"] = n["errors"];
  run_status_["missing"] = n["missing"];
  run_status_["interrupted"] = interrupted;
  store.write_run_status(run_status_);
  if (options_.shard.sharded())
    store.write_json(shard_status_name(options_.shard),
                     shard_status(options_.shard, share_, interrupted ? "interrupted" : "finished", shard_started_,
                                  now_iso8601(), samples_, store.rows(), interrupted));
  return outcome_;
}

bool run_pending(CellRun& cell, const std::atomic<bool>* stop) {
  const std::vector<const Sample*>& pending = cell.pending();
  const size_t batch_size = cell.batch_size();
  for (size_t first = 0; first < pending.size(); first += batch_size) {
    if (stop && stop->load()) return true;
    cell.run_batch({pending.begin() + first, pending.begin() + std::min(pending.size(), first + batch_size)});
  }
  return false;
}

RunOutcome execute_run(RunPlan& plan, Engine& engine, const RunOptions& options) {
  CellRun cell(plan, engine, options);
  const bool interrupted = run_pending(cell, options.stop);
  return cell.finish(interrupted);
}

}  // namespace kvbench
