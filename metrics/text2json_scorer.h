// SPDX-License-Identifier: Apache-2.0
// Text2JSON scoring: the authors' default Text2jsonEvaluator (yandex-research/
// context-intensive-kv-offloading shadowkv-opencompass/opencompass/datasets/text2json.py), per
// sample and aggregated. Gold: a JSON list of objects with "name" plus two string attributes.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kvbench {

struct Text2JsonSample {
  bool bad = false;      // gold repeats a name (after U+2019 -> '): excluded from the average
  double score = 0.0;    // matched credit / union, in 0..1 (0 for invalid predictions)
  double credit = 0.0;   // sum of instance credits
  long union_size = 0;   // |gold| + unmatched predicted elements (0 when the prediction is invalid)
  bool valid_list = false;  // the prediction held exactly one [...] that parsed as a JSON list
  // Cases where the Python evaluator raises instead of scoring (counted here as the port decides:
  // a non-object element or a non-str name is an unmatched extra; a non-str/int value is wrong).
  long python_would_raise = 0;
};

// One sample. kvbench::Error(kInput) for a malformed gold (not a JSON list of 3-key objects with a
// string "name"; a non-string gold value compared against a prediction; a 0/0 union).
Text2JsonSample text2json_score_sample(const std::string& prediction, const std::string& gold);

// average_score = 100 * sum(score of non-bad samples) / (n - bad), summed in sample order.
double text2json_average(const std::vector<Text2JsonSample>& samples);

}  // namespace kvbench
