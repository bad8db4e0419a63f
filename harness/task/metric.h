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

// One sample as a task-level aggregate sees it, in task order: its prediction (a sample that ended
// with an error counts with an empty prediction, which is how the official evaluators score a missing
// answer), references, metadata, and score() of that prediction.
struct ScoredSample {
  std::string prediction;
  std::vector<std::string> references;
  nlohmann::json metadata;
  Scores scores;
};

// A task's score as the official evaluation code reports it (e.g. LongBench eval.py's
// round(100 * mean, 2), 0..100): the score name it aggregates, the value in the official scale, and
// its parts where the official code reports some (LongBench-E length buckets, NeedleBench depths).
struct OfficialAggregate {
  std::string name;
  double value = 0;
  std::string scale;                           // e.g. "0..100, round(100 * mean, 2)"
  nlohmann::json parts = nlohmann::json::object();
};

class Metric {
 public:
  virtual ~Metric() = default;
  virtual Scores score(const std::string& prediction, const std::vector<std::string>& references,
                       const nlohmann::json& sample_metadata) const = 0;
  // The official aggregate over all of a run's selected samples (never empty), in task order.
  virtual OfficialAggregate aggregate(const std::vector<ScoredSample>& samples) const = 0;
};

// The mean of one per-sample score over `samples` in order (lm-eval reports its metrics this way; a
// sample without that score counts 0), with `scale`.
inline OfficialAggregate mean_aggregate(const std::vector<ScoredSample>& samples, const std::string& score_name,
                                        const std::string& scale) {
  double sum = 0;
  for (const ScoredSample& s : samples) {
    auto it = s.scores.find(score_name);
    if (it != s.scores.end()) sum += it->second;
  }
  return {score_name, samples.empty() ? 0.0 : sum / static_cast<double>(samples.size()), scale, nlohmann::json::object()};
}

KVBENCH_REGISTRY_KIND(Metric, "metric");
using MetricRegistry = Registry<Metric>;

}  // namespace kvbench
