// SPDX-License-Identifier: Apache-2.0
#include "harness/run/aggregate.h"

#include <algorithm>
#include <cmath>

namespace kvbench {
namespace {

using nlohmann::json;

json mean_stderr(const std::vector<double>& xs) {
  double n = static_cast<double>(xs.size());
  double sum = 0;
  for (double x : xs) sum += x;
  double mean = xs.empty() ? 0.0 : sum / n;
  double var = 0;
  for (double x : xs) var += (x - mean) * (x - mean);
  double stderr_ = xs.size() > 1 ? std::sqrt(var / (n - 1)) / std::sqrt(n) : 0.0;
  return {{"mean", mean}, {"stderr", stderr_}, {"n", xs.size()}};
}

double percentile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  if (xs.empty()) return 0;
  double pos = q * static_cast<double>(xs.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, xs.size() - 1);
  return xs[lo] + (pos - static_cast<double>(lo)) * (xs[hi] - xs[lo]);
}

// Numeric fields of `object`, those of nested objects as "parent.field"; lists, strings, booleans
// and nulls are skipped (per-layer and per-step lists are for reading, not for averaging).
void collect_numbers(const json& object, std::map<std::string, std::vector<double>>& out,
                     const std::string& prefix = "") {
  if (!object.is_object()) return;
  for (const auto& [key, v] : object.items()) {
    if (v.is_number()) {
      out[prefix + key].push_back(v.get<double>());
    } else if (v.is_object()) {
      collect_numbers(v, out, prefix + key + ".");
    }
  }
}

}  // namespace

json aggregate_samples(const std::vector<std::string>& selected_ids,
                       const std::map<std::string, json>& rows) {
  std::map<std::string, std::vector<double>> scores;
  std::map<std::string, std::map<std::string, std::vector<double>>> buckets;
  std::map<std::string, std::vector<double>> timing, memory, kv;
  size_t recorded = 0, scored = 0, errors = 0;
  double output_tokens = 0, sample_ms = 0;  // over scored samples, for the throughput
  for (const auto& id : selected_ids) {
    auto it = rows.find(id);
    if (it == rows.end()) continue;
    ++recorded;
    const json& row = it->second;
    if (row.contains("error") && !row["error"].is_null()) {
      ++errors;
      continue;
    }
    ++scored;
    std::string bucket;
    if (row.contains("metadata") && row["metadata"].contains("bucket"))
      bucket = row["metadata"]["bucket"].is_string() ? row["metadata"]["bucket"].get<std::string>()
                                                     : row["metadata"]["bucket"].dump();
    const json row_scores = row.value("scores", json::object());
    for (const auto& [name, v] : row_scores.items()) {
      scores[name].push_back(v.get<double>());
      if (!bucket.empty()) buckets[bucket][name].push_back(v.get<double>());
    }
    collect_numbers(row.value("timing", json::object()), timing);
    output_tokens += row.value("output_tokens", 0.0);
    sample_ms += row.value("timing", json::object()).value("sample_ms", 0.0);
    collect_numbers(row.value("memory", json::object()), memory);
    collect_numbers(row.value("kv", json::object()), kv);
  }
  json out;
  out["scores"] = json::object();
  for (const auto& [name, xs] : scores) out["scores"][name] = mean_stderr(xs);
  out["buckets"] = json::object();
  for (const auto& [bucket, by_name] : buckets)
    for (const auto& [name, xs] : by_name) out["buckets"][bucket][name] = mean_stderr(xs);
  out["n_samples"] = {{"selected", selected_ids.size()}, {"recorded", recorded}, {"scored", scored},
                      {"errors", errors}, {"missing", selected_ids.size() - recorded}};
  out["performance"] = json::object();
  for (const auto& [name, xs] : timing) {
    double sum = 0;
    for (double x : xs) sum += x;
    out["performance"][name] = {{"mean", sum / static_cast<double>(xs.size())},
                                {"p50", percentile(xs, 0.5)}, {"p90", percentile(xs, 0.9)},
                                {"max", *std::max_element(xs.begin(), xs.end())}};
  }
  // Generated tokens per second of sample wall time (a batched sample's sample_ms is its share of
  // the batch's time, so batching shows here).
  if (sample_ms > 0) out["performance"]["throughput_tokens_per_s"] = {{"overall", output_tokens / (sample_ms / 1e3)}};
  for (auto* group : {&memory, &kv}) {
    json& dst = out[group == &memory ? "memory" : "kv"];
    dst = json::object();
    for (const auto& [name, xs] : *group) {
      double sum = 0;
      for (double x : xs) sum += x;
      dst[name] = {{"mean", sum / static_cast<double>(xs.size())},
                   {"max", *std::max_element(xs.begin(), xs.end())}};
    }
  }
  return out;
}

}  // namespace kvbench
