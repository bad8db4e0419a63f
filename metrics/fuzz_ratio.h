// SPDX-License-Identifier: Apache-2.0
// fuzzywuzzy 0.18 fuzz.ratio with the python-Levenshtein backend (Levenshtein 0.27 / rapidfuzz):
// 100 for equal strings, 0 if either is empty, else round-half-even(100 * (1 - indel / (n + m)))
// where indel = n + m - 2 * LCS over code points. This is the backend LongBench's requirements pin.
#pragma once

#include <string>

namespace kvbench {

// Levenshtein.ratio(a, b): normalized Indel similarity, 1.0 - dist / (len(a) + len(b)).
double levenshtein_ratio(const std::u32string& a, const std::u32string& b);
// fuzz.ratio(a, b) as an int in 0..100.
int fuzz_ratio(const std::u32string& a, const std::u32string& b);

}  // namespace kvbench
