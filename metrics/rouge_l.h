// SPDX-License-Identifier: Apache-2.0
// ROUGE as computed by the PyPI `rouge` package 1.0.1 (pltrdy/rouge), the one LongBench's
// rouge_score calls: Rouge().get_scores([hyp], [ref], avg=True) with its defaults (rouge-1, rouge-2,
// rouge-l summary level, exclusive=True, i.e. set-based counts). Works on UTF-32 text.
#pragma once

#include <optional>
#include <string>

namespace kvbench {

struct RougeScores {
  double rouge1_f = 0.0;
  double rouge2_f = 0.0;
  double rougel_f = 0.0;
  double rougel_p = 0.0;
  double rougel_r = 0.0;
};

// nullopt where the package raises (empty hypothesis or reference after its sentence split on '.').
// `max_recursion_steps` > 0 also returns nullopt when the package's recursive LCS traceback would
// need more than that many nested calls (Python's RecursionError); 0 disables the check.
std::optional<RougeScores> rouge_get_scores(const std::u32string& hypothesis,
                                            const std::u32string& reference,
                                            int max_recursion_steps = 0);

}  // namespace kvbench
