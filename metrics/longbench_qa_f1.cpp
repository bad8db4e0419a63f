// SPDX-License-Identifier: Apache-2.0
// LongBench qa_f1_score and qa_f1_zh_score: token-level F1 with multiset (Counter) overlap, over
// normalize_answer tokens (English) or normalize_zh_answer'd jieba tokens (Chinese).
#include "metrics/jieba_segmenter.h"
#include "metrics/longbench_scorer.h"
#include "metrics/normalize.h"
#include "harness/pytext/unicode_text.h"

#include <map>

namespace kvbench {
namespace {

// metrics.py f1_score: 0 without overlap; else 2PR/(P+R) with P = same/len(pred), R = same/len(gt).
double token_f1(const std::vector<std::u32string>& prediction,
                const std::vector<std::u32string>& ground_truth) {
  std::map<std::u32string, long> pred_counts, gt_counts;
  for (const auto& t : prediction) ++pred_counts[t];
  for (const auto& t : ground_truth) ++gt_counts[t];
  long same = 0;
  for (const auto& kv : pred_counts) {
    auto it = gt_counts.find(kv.first);
    if (it != gt_counts.end()) same += std::min(kv.second, it->second);
  }
  if (same == 0) return 0.0;
  double precision = 1.0 * static_cast<double>(same) / static_cast<double>(prediction.size());
  double recall = 1.0 * static_cast<double>(same) / static_cast<double>(ground_truth.size());
  return (2 * precision * recall) / (precision + recall);
}

std::vector<std::u32string> zh_tokens(const std::string& text) {
  std::vector<std::u32string> out;
  for (const std::u32string& token : JiebaSegmenter::default_instance().cut(utf8_to_u32(text))) {
    std::u32string normalized = normalize_zh_answer(token);
    if (!normalized.empty()) out.push_back(std::move(normalized));
  }
  return out;
}

}  // namespace

double longbench_qa_f1_score(const std::string& prediction, const std::string& ground_truth,
                             const std::vector<std::string>&) {
  return token_f1(py_split_whitespace(normalize_answer(utf8_to_u32(prediction))),
                  py_split_whitespace(normalize_answer(utf8_to_u32(ground_truth))));
}

double longbench_qa_f1_zh_score(const std::string& prediction, const std::string& ground_truth,
                                const std::vector<std::string>&) {
  return token_f1(zh_tokens(prediction), zh_tokens(ground_truth));
}

KVBENCH_REGISTER(Metric, longbench_metric_entry(
    "longbench.qa_f1", "qa_f1_score", &longbench_qa_f1_score,
    "LongBench qa_f1_score: token F1 after lowercasing, dropping punctuation and articles"));

KVBENCH_REGISTER(Metric, longbench_metric_entry(
    "longbench.qa_f1_zh", "qa_f1_zh_score", &longbench_qa_f1_zh_score,
    "LongBench qa_f1_zh_score: token F1 over jieba tokens with Chinese punctuation removed"));

}  // namespace kvbench
