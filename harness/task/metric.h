// SPDX-License-Identifier: Apache-2.0
// Metric interface: a pure function of (prediction, references, sample) to one or more named scores.
// Scores are in the metric's native scale (0..1 for lm-eval style, 0..100 where the official scorer
// multiplies); the name of each score says which (e.g. "exact_match,strict-match").
#pragma once

#include "harness/registry.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace kvbench {

using Scores = std::map<std::string, double>;

class Metric {
 public:
  virtual ~Metric() = default;
  virtual Scores score(const std::string& prediction, const std::vector<std::string>& references,
                       const nlohmann::json& sample_metadata) const = 0;
};

KVBENCH_REGISTRY_KIND(Metric, "metric");
using MetricRegistry = Registry<Metric>;

}  // namespace kvbench
