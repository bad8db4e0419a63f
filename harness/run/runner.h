// SPDX-License-Identifier: Apache-2.0
// The runner: one RunConfig -> a run directory. plan_run() resolves the task, the dataset hash and
// the run directory without touching the model (`kvbench validate` uses it); execute_run() (defined
// with CellRun in harness/run/cell_run.cpp) drives an Engine over the selected samples that are not
// recorded yet, appends one row per sample as it finishes, turns a failing sample into an error row
// and carries on, and writes metrics.json and run.json atomically at the end.
#pragma once

#include "harness/engine/engine.h"
#include "harness/run/run_config.h"
#include "harness/run/shard.h"
#include "harness/task/metric.h"
#include "harness/task/task.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kvbench {

struct RunPlan {
  RunConfig run;
  std::unique_ptr<Task> task;
  TaskContext context;          // tokenizer is filled in by execute_run from the engine
  std::string dataset_sha256;
  std::string model_structure_sha256;  // model_identity.h ("" without a model folder)
  std::string hash;             // run_hash(resolved, dataset_sha256, model_structure_sha256)
  std::string label;            // task/protocol/model/method/budget
  std::filesystem::path dir;    // output.dir / label + "__" + hash
};

struct RunOptions {
  bool retry_errors = false;                   // redo samples recorded with an error
  const std::atomic<bool>* stop = nullptr;     // set (e.g. by SIGINT) to stop after this sample
  bool progress = true;
  // Resume a run recorded by another code version or other weights (otherwise an input error).
  bool allow_version_mix = false;
  // Run only this shard's samples of the cell (harness/run/shard.h), appending to its own part.
  ShardSpec shard;
  const ShardPlan* shard_plan = nullptr;  // the sweep's units dealt to shard.count shards (when sharded)
};

struct RunOutcome {
  std::filesystem::path dir;
  std::string label;
  std::string status;           // complete | partial | failed
  nlohmann::json metrics;       // what metrics.json holds
  size_t ran = 0;               // samples run by this invocation
  size_t skipped = 0;           // already recorded
};

RunPlan plan_run(const RunConfig& run);

// Selected samples: task order, then task.ids (every id must exist) and task.limit (first N).
std::vector<Sample> select_samples(std::vector<Sample> all, const nlohmann::json& task_config);

RunOutcome execute_run(RunPlan& plan, Engine& engine, const RunOptions& options);

// The scorers of a task's protocol (task->metrics(context)), built from the metric registry with
// their default params. execute_run and `kvbench rescore` both score through these two functions.
std::vector<std::unique_ptr<Metric>> make_task_metrics(const Task& task, const TaskContext& context,
                                                       const std::string& task_name);
// Every score of every metric for one prediction; two metrics producing one name is a kvbench bug.
Scores score_prediction(const std::vector<std::unique_ptr<Metric>>& metrics, const std::string& prediction,
                        const std::vector<std::string>& references, const nlohmann::json& metadata);

// metrics.json "official": per metric of the task, its official task-level aggregate
// (Metric::aggregate: {name, value, scale, parts}) over the selected samples in task order, with
// "n" and "errors". A sample that ended with an error counts as an empty prediction scored by the
// metric (the official evaluators score a missing answer 0); "error_policy" records that. Null
// "value" while any selected sample is missing (a partial run has no official number).
// `names[i]` is the registered name of `metrics[i]`.
nlohmann::json official_aggregates(const std::vector<std::string>& names,
                                   const std::vector<std::unique_ptr<Metric>>& metrics, const std::vector<Sample>& samples,
                                   const std::map<std::string, nlohmann::json>& rows);

}  // namespace kvbench
