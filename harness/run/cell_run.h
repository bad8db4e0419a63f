// SPDX-License-Identifier: Apache-2.0
// One cell of a sweep (one RunPlan) while it runs: opened (lock, resume state, config.json,
// env.json, run.json "running"), fed samples one by one or in batches (each finished sample
// appended and flushed at once), then finished (metrics.json and the final run.json, written
// atomically under the cell lock). execute_run() drives one cell alone; run_cell_group()
// (harness/run/cell_group.h) interleaves the cells that share a prefill, sample by sample.
#pragma once

#include "harness/run/progress.h"
#include "harness/run/runner.h"
#include "harness/run/run_store.h"
#include "harness/run/sharded_run.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kvbench {

class CellRun {
 public:
  // Opens the cell. Throws what execute_run throws before its first sample (a busy lock: kBusy;
  // resuming another code version or other weights: kInput; unwritable output: kOutput).
  CellRun(RunPlan& plan, Engine& engine, const RunOptions& options);

  const RunPlan& plan() const { return plan_; }
  // This shard's selected samples not recorded yet, in task order.
  const std::vector<const Sample*>& pending() const { return pending_; }
  bool is_pending(const std::string& id) const;
  // generation.batch_size of the run.
  size_t batch_size() const { return batch_size_; }
  // The sample's engine request (the run's generation section merged with the sample's own limits).
  GenerationSettings generation_for(const Sample& sample) const;

  // Runs one sample and appends its row (an error row when it fails). `shared_prefill`: the
  // prefill uses of every method about to run this sample in the cell's group (the engine records
  // or replays one exact prefill; harness/run/cell_group.h); nullopt: the method's own prefill.
  void run_sample(const Sample& sample, const std::optional<PrefillUses>& shared_prefill = std::nullopt);
  // Drops the engine's recorded shared prefill (after the group ran the sample).
  void release_shared_prefill() { engine_.release_shared_prefill(); }
  // Runs samples together (generation.batch_size); a failing batch is re-run one by one.
  void run_batch(const std::vector<const Sample*>& batch);

  // metrics.json and run.json over every part of the cell; `interrupted`: the sweep stopped (the
  // cell counts as interrupted only if it still has pending samples).
  RunOutcome finish(bool interrupted);

 private:
  using Clock = std::chrono::steady_clock;
  void record(const Sample& sample, const SampleResult* result, const std::string& error, double sample_ms,
              Clock::time_point start);

  RunPlan& plan_;  // the caller's, outliving the cell
  Engine& engine_;
  RunOptions options_;
  std::vector<Sample> samples_;
  std::vector<std::string> selected_ids_;
  std::vector<std::unique_ptr<Metric>> metrics_;
  std::vector<std::string> metric_names_;
  std::string code_;
  std::optional<RunStore> store_;
  CellShare share_;
  nlohmann::json run_status_;
  std::string shard_started_;
  std::optional<Progress> progress_;
  std::vector<const Sample*> pending_;
  size_t batch_size_ = 1;
  RunOutcome outcome_;
};

// Runs the cell's pending samples in batches of generation.batch_size (task order); true when
// `stop` interrupted it.
bool run_pending(CellRun& cell, const std::atomic<bool>* stop);

}  // namespace kvbench
