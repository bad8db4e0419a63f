// SPDX-License-Identifier: Apache-2.0
// lm-evaluation-harness GSM8K scoring pieces: the RegexFilter step (registered metrics
// gsm8k.exact_match and gsm8k_cot.exact_match run it for "strict-match" and "flexible-extract").
#pragma once

#include "metrics/py_regex.h"

#include <string>

namespace kvbench {

// lm_eval/filters/extraction.py RegexFilter on one response: re.findall, the group_select-th match
// (Python indexing, -1 = last), the first non-empty group of a tuple, strip(); `fallback` when there
// is no match (or every group of the chosen tuple is empty).
std::string lmeval_regex_filter(const PyRegex& regex, int group_select, const std::string& fallback,
                                const std::string& response);

}  // namespace kvbench
