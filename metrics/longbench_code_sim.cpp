// SPDX-License-Identifier: Apache-2.0
// LongBench code_sim_score (lcc, repobench-p): the first line of prediction.lstrip('\n') holding
// none of '`', '#', '//' (empty when none), scored fuzz.ratio(line, gt) / 100. This is the official
// THUDM version; lm-eval's port (v6+) skips blank lines instead and is not used.
#include "metrics/fuzz_ratio.h"
#include "metrics/longbench_scorer.h"
#include "harness/pytext/unicode_text.h"

namespace kvbench {

double longbench_code_sim_score(const std::string& prediction, const std::string& ground_truth,
                                const std::vector<std::string>&) {
  size_t pos = prediction.find_first_not_of('\n');
  std::string chosen;
  while (pos != std::string::npos && pos <= prediction.size()) {
    size_t end = prediction.find('\n', pos);
    std::string line =
        prediction.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.find('`') == std::string::npos && line.find('#') == std::string::npos &&
        line.find("//") == std::string::npos) {
      chosen = line;
      break;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return fuzz_ratio(utf8_to_u32(chosen), utf8_to_u32(ground_truth)) / 100.0;
}

KVBENCH_REGISTER(Metric, longbench_metric_entry(
    "longbench.code_sim", "code_sim_score", &longbench_code_sim_score,
    "LongBench code_sim_score: fuzz.ratio of the first non-comment line against the gold line"));

}  // namespace kvbench
