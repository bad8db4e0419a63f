// SPDX-License-Identifier: Apache-2.0
// LongBench count_score (passage_count): the fraction of the numbers (re \d+, Unicode digits) in the
// prediction that equal the gold count string.
#include "metrics/longbench_scorer.h"

#include "harness/pytext/unicode_text.h"

namespace kvbench {

double longbench_number_share(const std::string& prediction, const std::u32string& target) {
  std::vector<std::u32string> numbers = py_find_digit_runs(utf8_to_u32(prediction));
  if (numbers.empty()) return 0.0;
  long right = 0;
  for (const auto& number : numbers)
    if (number == target) ++right;
  return static_cast<double>(right) / static_cast<double>(numbers.size());
}

double longbench_count_score(const std::string& prediction, const std::string& ground_truth,
                             const std::vector<std::string>&) {
  return longbench_number_share(prediction, utf8_to_u32(ground_truth));
}

KVBENCH_REGISTER(Metric, longbench_metric_entry(
    "longbench.count", "count_score", &longbench_count_score,
    "LongBench count_score: share of numbers in the prediction equal to the gold count"));

}  // namespace kvbench
