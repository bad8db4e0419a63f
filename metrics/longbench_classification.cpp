// SPDX-License-Identifier: Apache-2.0
// LongBench classification_score (trec, lsht): classes found as substrings of the prediction, minus
// those that are strict substrings of the ground truth (with the official loop's skip-after-remove
// behaviour), scoring 1/len(matches) when the ground truth is among them.
#include "metrics/longbench_scorer.h"

#include <algorithm>

namespace kvbench {

double longbench_classification_score(const std::string& prediction,
                                      const std::string& ground_truth,
                                      const std::vector<std::string>& all_classes) {
  // Byte substring tests equal code point substring tests for valid UTF-8.
  std::vector<std::string> matches;
  for (const std::string& name : all_classes)
    if (prediction.find(name) != std::string::npos) matches.push_back(name);
  // `for term in list: list.remove(term)` in Python: the iterator index advances past whatever
  // shifted into the removed slot, and remove() deletes the first equal element.
  for (size_t index = 0; index < matches.size(); ++index) {
    const std::string term = matches[index];
    if (ground_truth.find(term) != std::string::npos && term != ground_truth)
      matches.erase(std::find(matches.begin(), matches.end(), term));
  }
  if (std::find(matches.begin(), matches.end(), ground_truth) == matches.end()) return 0.0;
  return 1.0 / static_cast<double>(matches.size());
}

KVBENCH_REGISTER(Metric, longbench_metric_entry(
    "longbench.classification", "classification_score", &longbench_classification_score,
    "LongBench classification_score: 1/#matched classes if the gold class is matched (all_classes)"));

}  // namespace kvbench
