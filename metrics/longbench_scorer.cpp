// SPDX-License-Identifier: Apache-2.0
// LongBench eval.py scorer logic (see longbench_scorer.h).
#include "metrics/longbench_scorer.h"

#include "harness/error.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace kvbench {
namespace {

// numpy's pairwise summation (np.add.reduce over a contiguous float64 array), which np.mean uses.
double numpy_pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    // numpy starts from -0.0 so that an all -0.0 input keeps its sign; the sum is otherwise equal.
    double res = -0.0;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int k = 0; k < 8; ++k) r[k] = a[k];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int k = 0; k < 8; ++k) r[k] += a[i + k];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_pairwise_sum(a, n2) + numpy_pairwise_sum(a + n2, n - n2);
}

}  // namespace

bool longbench_uses_first_line(const std::string& dataset) {
  std::string base = dataset;
  if (base.size() > 2 && base.compare(base.size() - 2, 2, "_e") == 0)
    base = base.substr(0, base.size() - 2);
  return base == "trec" || base == "triviaqa" || base == "samsum" || base == "lsht";
}

std::string longbench_prepare_prediction(const std::string& dataset, const std::string& prediction) {
  if (!longbench_uses_first_line(dataset)) return prediction;
  size_t start = prediction.find_first_not_of('\n');
  if (start == std::string::npos) return "";
  size_t end = prediction.find('\n', start);
  return prediction.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

double longbench_sample_score(LongBenchPairFn metric, const std::string& prepared_prediction,
                              const std::vector<std::string>& references,
                              const std::vector<std::string>& all_classes) {
  double score = 0.0;
  for (const std::string& gt : references) {
    double s = metric(prepared_prediction, gt, all_classes);
    if (s > score) score = s;  // Python max(score, s) keeps the first of equal values
  }
  return score;
}

double python_round2(double x) {
  if (!std::isfinite(x)) return x;
  // printf rounds the exact binary value correctly (ties to even), as CPython's round(x, 2) does.
  char buffer[512];
  std::snprintf(buffer, sizeof(buffer), "%.2f", x);
  return std::strtod(buffer, nullptr);
}

double longbench_dataset_score(const std::vector<double>& sample_scores) {
  KVBENCH_CHECK(!sample_scores.empty(), "LongBench dataset score of zero samples");
  double total = 0.0;
  for (double s : sample_scores) total += s;
  return python_round2(100 * total / static_cast<double>(sample_scores.size()));
}

std::map<std::string, double> longbench_e_scores(const std::vector<double>& sample_scores,
                                                 const std::vector<double>& lengths) {
  KVBENCH_CHECK(sample_scores.size() == lengths.size(), "LongBench-E: ", sample_scores.size(),
                " scores but ", lengths.size(), " lengths");
  std::map<std::string, std::vector<double>> buckets = {{"0-4k", {}}, {"4-8k", {}}, {"8k+", {}}};
  for (size_t i = 0; i < lengths.size(); ++i) {
    const char* key = lengths[i] < 4000 ? "0-4k" : lengths[i] < 8000 ? "4-8k" : "8k+";
    buckets[key].push_back(sample_scores[i]);
  }
  std::map<std::string, double> out;
  for (const auto& kv : buckets) {
    const std::vector<double>& v = kv.second;
    double mean = v.empty() ? std::numeric_limits<double>::quiet_NaN()
                            : numpy_pairwise_sum(v.data(), v.size()) / static_cast<double>(v.size());
    out[kv.first] = python_round2(100 * mean);
  }
  return out;
}

Scores LongBenchMetric::score(const std::string& prediction,
                              const std::vector<std::string>& references,
                              const nlohmann::json& sample_metadata) const {
  std::string dataset;
  std::vector<std::string> all_classes;
  if (sample_metadata.is_object()) {
    auto it = sample_metadata.find("dataset");
    if (it != sample_metadata.end() && it->is_string()) dataset = it->get<std::string>();
    auto classes = sample_metadata.find("all_classes");
    if (classes != sample_metadata.end() && classes->is_array())
      for (const auto& c : *classes) {
        KVBENCH_CHECK_INPUT(c.is_string(), "sample metadata field all_classes: expected strings");
        all_classes.push_back(c.get<std::string>());
      }
  }
  return {{score_name_, longbench_sample_score(fn_, longbench_prepare_prediction(dataset, prediction),
                                               references, all_classes)}};
}

namespace {

nlohmann::json longbench_metric_extra(const std::string& function_name) {
  return {{"source", "THUDM/LongBench LongBench/metrics.py:" + function_name +
                         " (+ LongBench/eval.py scorer)"},
          {"scale", "per-sample 0..1; dataset score = round(100 * mean, 2) via "
                    "longbench_dataset_score"},
          {"metadata", {"dataset", "all_classes"}}};
}

}  // namespace

RegistryEntry<Metric> longbench_metric_entry(const std::string& name, const std::string& function_name,
                                             LongBenchPairFn fn, const std::string& description) {
  return RegistryEntry<Metric>{
      name, description, {},
      [function_name, fn](const nlohmann::json&) { return std::make_unique<LongBenchMetric>(function_name, fn); },
      longbench_metric_extra(function_name)};
}

OfficialAggregate LongBenchMetric::aggregate(const std::vector<ScoredSample>& samples) const {
  std::vector<double> scores, lengths;
  bool all_have_length = true;
  for (const ScoredSample& s : samples) {
    scores.push_back(s.scores.at(score_name_));
    const nlohmann::json& length = s.metadata.is_object() && s.metadata.contains("length") ? s.metadata["length"]
                                                                                          : nlohmann::json();
    all_have_length = all_have_length && length.is_number();
    if (length.is_number()) lengths.push_back(length.get<double>());
  }
  OfficialAggregate out{score_name_, longbench_dataset_score(scores), "0..100, eval.py round(100 * mean, 2)",
                        nlohmann::json::object()};
  if (all_have_length && !samples.empty() && samples.front().metadata.contains("bucket")) {
    for (const auto& [bucket, value] : longbench_e_scores(scores, lengths))
      out.parts[bucket] = std::isnan(value) ? nlohmann::json() : nlohmann::json(value);
  }
  return out;
}

}  // namespace kvbench
