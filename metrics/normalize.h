// SPDX-License-Identifier: Apache-2.0
// Answer normalization shared by the LongBench scorers (THUDM/LongBench LongBench/metrics.py):
// normalize_answer (English: lower, drop ASCII punctuation, drop articles, collapse whitespace) and
// normalize_zh_answer (lower, drop ASCII + CJK punctuation, drop all whitespace), over UTF-32 text.
#pragma once

#include <string>

namespace kvbench {

// Python's string.punctuation: the 32 ASCII punctuation characters.
bool is_ascii_punctuation(char32_t c);
// string.punctuation plus LongBench's cn_punctuation set (CJK and typographic punctuation).
bool is_zh_punctuation(char32_t c);

// lower -> remove string.punctuation -> re.sub(r"\b(a|an|the)\b", " ") -> " ".join(split()).
std::u32string normalize_answer(const std::u32string& text);
// lower -> remove string.punctuation + cn_punctuation -> "".join(split()).
std::u32string normalize_zh_answer(const std::u32string& text);

}  // namespace kvbench
