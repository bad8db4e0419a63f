// SPDX-License-Identifier: Apache-2.0
// `kvbench compare BASE NEW`: regression verdicts per run cell (task, protocol, model, method,
// method params). Samples pair by id when both sides recorded the same prompt_sha256 (a differing
// prompt is not a pair: other data or tokenizer). Per cell:
//   accuracy  per score, mean of paired differences (new - base) with a paired bootstrap interval;
//             regressed when the whole interval is below 0 and the mean drop exceeds the tolerance;
//             samples scored in BASE that errored in NEW are a regression too;
//   latency   TTFT and TPOT: ratio of medians new/base and a one-sided Mann-Whitney p-value;
//             regressed when p < alpha and the ratio exceeds 1 + latency tolerance;
//   memory    peak/KV device bytes, KV host bytes, host-to-device bytes per step over the paired
//             samples, compared exactly; regressed when new > base x (1 + memory tolerance).
// A BASE cell absent from NEW regresses ("missing"). Cells without any pair are bad input.
#pragma once

#include "reports/run_index.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace kvbench {

struct CompareOptions {
  std::set<std::string> fail_on = {"accuracy", "latency", "memory"};
  double alpha = 0.05;
  size_t resamples = 10000;
  uint32_t seed = 0;
  double accuracy_tolerance = 0.0;  // absolute score units
  double latency_tolerance = 0.10;  // relative
  double memory_tolerance = 0.0;    // relative
};

struct CompareResult {
  nlohmann::json cells = nlohmann::json::array();  // one object per cell with every number
  std::vector<std::string> regressions;            // "cell: what" lines, only for --fail-on kinds
  std::string markdown;
  int exit_code() const { return regressions.empty() ? 0 : 1; }
};

std::set<std::string> parse_fail_on(const std::string& list);  // kUsage error on unknown kinds

CompareResult compare_runs(const std::vector<RunRecord>& base, const std::vector<RunRecord>& candidate,
                           const CompareOptions& options);

}  // namespace kvbench
