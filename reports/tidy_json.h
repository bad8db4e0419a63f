// SPDX-License-Identifier: Apache-2.0
// The tidy export: one JSON object per line and per (run, metric) that pandas/polars/R load as a
// long table. Every line carries the run's identity (dir, label, hash, task, protocol, model,
// method, method_params, budget, status, device, dataset hash, kvbench version) and one value:
//   kind "score"   metric <score name>, stat "mean" (+ stderr, n) from metrics.json scores
//   kind "latency" metric <timing field>, stat p50|p90|p99|mean|max (p99 from samples.jsonl)
//   kind "memory" / "kv"  metric <field>, stat mean|max from metrics.json
#pragma once

#include "reports/run_index.h"

#include <string>
#include <vector>

namespace kvbench {

std::string tidy_jsonl(const std::vector<RunRecord>& runs);

}  // namespace kvbench
