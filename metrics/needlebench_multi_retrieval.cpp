// SPDX-License-Identifier: Apache-2.0
// NeedleBench v2 multi-needle retrieval score (see needlebench_multi_retrieval.h).
#include "metrics/needlebench_multi_retrieval.h"

#include "harness/error.h"
#include "harness/task/metric.h"

#include <cstdlib>
#include <map>

namespace kvbench {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = text.find(sep, start);
    out.push_back(text.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

// Python int(): optional surrounding whitespace, sign, ASCII digits with single underscores.
int parse_python_int(const std::string& text, const std::string& answer) {
  size_t a = text.find_first_not_of(" \t\n\r\f\v"), b = text.find_last_not_of(" \t\n\r\f\v");
  std::string t = a == std::string::npos ? "" : text.substr(a, b - a + 1);
  std::string digits;
  size_t i = 0;
  bool negative = false;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
  bool ok = i < t.size();
  for (; ok && i < t.size(); ++i) {
    if (t[i] >= '0' && t[i] <= '9') digits.push_back(t[i]);
    else if (t[i] == '_' && !digits.empty() && i + 1 < t.size() && t[i + 1] != '_') continue;
    else ok = false;
  }
  KVBENCH_CHECK_INPUT(ok && !digits.empty() && digits.size() < 10, "NeedleBench answer '", answer,
                      "': depth '", text, "' is not an integer");
  int value = std::atoi(digits.c_str());
  return negative ? -value : value;
}

}  // namespace

NeedleAnswer parse_needle_answer(const std::string& answer) {
  std::vector<std::string> parts = split(answer, '#');
  KVBENCH_CHECK_INPUT(parts.size() >= 2, "NeedleBench answer '", answer,
                      "': expected 'keywords#depths'");
  NeedleAnswer out;
  out.keywords = split(parts[0], '*');
  for (const std::string& d : split(parts[1], '*')) out.depths.push_back(parse_python_int(d, answer));
  return out;
}

std::vector<std::pair<int, bool>> needle_hits(const std::string& prediction,
                                              const std::string& answer) {
  NeedleAnswer parsed = parse_needle_answer(answer);
  std::vector<std::pair<int, bool>> out;
  for (size_t i = 0; i < parsed.keywords.size() && i < parsed.depths.size(); ++i)
    out.emplace_back(parsed.depths[i], prediction.find(parsed.keywords[i]) != std::string::npos);
  return out;
}

std::vector<std::pair<std::string, double>> needlebench_scores(
    const std::vector<std::string>& predictions, const std::vector<std::string>& answers) {
  KVBENCH_CHECK(!predictions.empty() && predictions.size() == answers.size(),
                "NeedleBench: ", predictions.size(), " predictions for ", answers.size(),
                " answers");
  // scores_by_depth is a dict: distinct depths in first-seen order, each starting at 0.
  std::vector<int> order;
  std::map<int, double> by_depth;
  for (int d : parse_needle_answer(answers[0]).depths)
    if (by_depth.emplace(d, 0.0).second) order.push_back(d);
  const double step = 100.0 / static_cast<double>(predictions.size());
  for (size_t s = 0; s < predictions.size(); ++s) {
    NeedleAnswer parsed = parse_needle_answer(answers[s]);
    // zip(keywords, depths) with the first sample's depths.
    std::vector<int> depths = parse_needle_answer(answers[0]).depths;
    for (size_t i = 0; i < parsed.keywords.size() && i < depths.size(); ++i)
      if (predictions[s].find(parsed.keywords[i]) != std::string::npos) by_depth[depths[i]] += step;
  }
  std::vector<std::pair<std::string, double>> out;
  double total = 0.0;
  for (int d : order) {
    out.emplace_back("Depth" + std::to_string(d), by_depth[d]);
    total += by_depth[d];
  }
  out.emplace_back("average_score", total / static_cast<double>(order.size()));
  return out;
}

namespace {

// Per sample: the evaluator run on this sample alone (n = 1): "Depth<d>" is 100 or 0 per depth and
// "average_score" their mean; needlebench_scores aggregates a whole task exactly.
class NeedleBenchMultiRetrieval : public Metric {
 public:
  Scores score(const std::string& prediction, const std::vector<std::string>& references,
               const nlohmann::json&) const override {
    KVBENCH_CHECK_INPUT(references.size() == 1, "NeedleBench: expected one reference (the "
                        "'keywords#depths' answer), got ", references.size());
    Scores out;
    for (const auto& kv : needlebench_scores({prediction}, references)) out[kv.first] = kv.second;
    return out;
  }
};

}  // namespace

KVBENCH_REGISTER(Metric, RegistryEntry<Metric>{
    "needlebench.multi_retrieval",
    "NeedleBench v2 parallel multi-needle retrieval: % of needle keywords found, per depth",
    {},
    [](const nlohmann::json&) { return std::make_unique<NeedleBenchMultiRetrieval>(); },
    {{"source", "yandex-research/context-intensive-kv-offloading shadowkv-opencompass/opencompass/"
                "datasets/needlebench_v2/parallel.py:NeedleBenchParallelEvaluator"},
     {"scale", "0..100; task scores via needlebench_scores (depths of the first sample)"}}});

}  // namespace kvbench
