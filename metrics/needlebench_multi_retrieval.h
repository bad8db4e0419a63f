// SPDX-License-Identifier: Apache-2.0
// NeedleBench v2 parallel multi-needle retrieval scoring (OpenCompass NeedleBenchParallelEvaluator,
// as used by yandex-research/context-intensive-kv-offloading shadowkv-opencompass/opencompass/
// datasets/needlebench_v2/parallel.py). The reference string is the dataset's `answer`:
// "kw1*kw2*...#d1*d2*..." (needle keywords, then insertion depths in percent).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kvbench {

struct NeedleAnswer {
  std::vector<std::string> keywords;
  std::vector<int> depths;
};

// Splits an answer string; kvbench::Error(kInput) when it has no '#' or a depth is not an integer.
NeedleAnswer parse_needle_answer(const std::string& answer);

// Per sample, in the order of zip(keywords, depths): whether each keyword is a (case-sensitive)
// substring of the prediction.
std::vector<std::pair<int, bool>> needle_hits(const std::string& prediction,
                                              const std::string& answer);

// The evaluator over a whole task: depths come from the first sample's answer; each hit adds
// 100 / n to its depth in sample order; average = sum over distinct depths / their count.
// Returns {"Depth<d>": score...} plus "average_score".
std::vector<std::pair<std::string, double>> needlebench_scores(
    const std::vector<std::string>& predictions, const std::vector<std::string>& answers);

}  // namespace kvbench
