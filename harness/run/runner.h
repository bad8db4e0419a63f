// SPDX-License-Identifier: Apache-2.0
// The runner: one RunConfig -> a run directory. plan_run() resolves the task, the dataset hash and
// the run directory without touching the model (`kvbench validate` uses it); execute_run() drives an
// Engine over the selected samples that are not recorded yet, appends one row per sample as it
// finishes, turns a failing sample into an error row and carries on, and writes metrics.json and
// run.json atomically at the end.
#pragma once

#include "harness/task/task.h"
#include "harness/engine/engine.h"
#include "harness/run/run_config.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace kvbench {

struct RunPlan {
  RunConfig run;
  std::unique_ptr<Task> task;
  TaskContext context;          // tokenizer is filled in by execute_run from the engine
  std::string dataset_sha256;
  std::string hash;             // run_hash(resolved, dataset_sha256)
  std::string label;            // task/protocol/model/method/budget
  std::filesystem::path dir;    // output.dir / label + "__" + hash
};

struct RunOptions {
  bool retry_errors = false;                   // redo samples recorded with an error
  const std::atomic<bool>* stop = nullptr;     // set (e.g. by SIGINT) to stop after this sample
  bool progress = true;
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

}  // namespace kvbench
