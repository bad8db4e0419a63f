// SPDX-License-Identifier: Apache-2.0
// lm-evaluation-harness GSM8K scoring pieces: the RegexFilter step (registered metrics
// gsm8k.exact_match and gsm8k_cot.exact_match run it for "strict-match" and "flexible-extract").
#pragma once

#include "harness/pytext/py_regex.h"

#include <memory>
#include <string>
#include <vector>

namespace kvbench {

// lm_eval/filters/extraction.py RegexFilter on one response: re.findall, the group_select-th match
// (Python indexing, -1 = last), the first non-empty group of a tuple, strip(); `fallback` when there
// is no match (or every group of the chosen tuple is empty).
std::string lmeval_regex_filter(const PyRegex& regex, int group_select, const std::string& fallback,
                                const std::string& response);

// lm_eval.api.metrics.exact_match_hf_evaluate on one pair: 1.0 or 0.0. The regexes are removed (re.sub
// with "") from both sides in order, then lowercasing (numpy, fixed width), punctuation and digit
// removal as requested, then string equality; numpy's trailing-NUL and width behaviour included.
double lmeval_exact_match(const std::string& prediction, const std::string& reference,
                          const std::vector<std::unique_ptr<PyRegex>>& regexes_to_ignore,
                          bool ignore_case, bool ignore_punctuation, bool ignore_numbers);

}  // namespace kvbench
