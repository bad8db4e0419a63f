// SPDX-License-Identifier: Apache-2.0
// LongBench retrieval_score / retrieval_zh_score (passage_retrieval_en / _zh): the fraction of the
// numbers (re \d+, Unicode digits) in the prediction that equal the gold paragraph id, the first
// "Paragraph N" / "段落N" of the ground truth.
#include "metrics/longbench_scorer.h"

#include "harness/error.h"
#include "harness/pytext/unicode_text.h"

namespace kvbench {
namespace {

// re.findall(prefix + r"(\d+)", ground_truth)[0]; the official code raises IndexError without one.
std::u32string first_id_after(const std::string& ground_truth, const std::u32string& prefix) {
  std::u32string text = utf8_to_u32(ground_truth);
  for (size_t pos = text.find(prefix); pos != std::u32string::npos;
       pos = text.find(prefix, pos + 1)) {
    size_t start = pos + prefix.size(), end = start;
    while (end < text.size() && py_re_is_digit(text[end])) ++end;
    if (end > start) return text.substr(start, end - start);
  }
  KVBENCH_FAIL(ErrorKind::kInput, "LongBench retrieval reference '", ground_truth,
               "' has no '", u32_to_utf8(prefix), "<number>'");
}

}  // namespace

double longbench_retrieval_score(const std::string& prediction, const std::string& ground_truth,
                                 const std::vector<std::string>&) {
  return longbench_number_share(prediction, first_id_after(ground_truth, U"Paragraph "));
}

double longbench_retrieval_zh_score(const std::string& prediction, const std::string& ground_truth,
                                    const std::vector<std::string>&) {
  return longbench_number_share(prediction, first_id_after(ground_truth, U"\u6BB5\u843D"));
}

KVBENCH_REGISTER(Metric, longbench_metric_entry(
    "longbench.retrieval", "retrieval_score", &longbench_retrieval_score,
    "LongBench retrieval_score: share of numbers in the prediction equal to the gold paragraph"));

KVBENCH_REGISTER(Metric, longbench_metric_entry(
    "longbench.retrieval_zh", "retrieval_zh_score", &longbench_retrieval_zh_score,
    "LongBench retrieval_zh_score: share of numbers in the prediction equal to the gold 段落 id"));

}  // namespace kvbench
