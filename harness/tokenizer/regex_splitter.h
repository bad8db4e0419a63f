// SPDX-License-Identifier: Apache-2.0
// PCRE2 (JIT) regex splitting for pre-tokenizers: a Hugging Face `Split` with behavior "Isolated"
// yields every match and every gap between matches as its own piece, in text order. Patterns are
// the Oniguruma-syntax regexes found in tokenizer.json (Llama 3, Qwen 2/3, GPT-2); they compile
// unchanged in PCRE2 with UTF + UCP (Unicode \p{..}, \s and case folding).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kvbench {

// A piece of the text being pre-tokenized: [begin, begin + size) in bytes.
struct Span {
  uint32_t begin;
  uint32_t size;
};

class RegexSplitter {
 public:
  // `where` names the file and field for the compile error message.
  RegexSplitter(const std::string& pattern, const std::string& where);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Appends the pieces of text[span] (matches and gaps, all non-empty) to `out`. `text` must be
  // valid UTF-8 (the tokenizer repairs input first). Thread-safe.
  void split(std::string_view text, Span span, std::vector<Span>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvbench
