// SPDX-License-Identifier: Apache-2.0
// Added tokens (tokenizer.json "added_tokens"): special and non-special tokens that are matched
// in the text before pre-tokenization and are never split, like Hugging Face's AddedVocabulary:
// leftmost-longest matching, tokens with normalized=false on the raw text and tokens with
// normalized=true on the normalized text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvbench {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;     // skipped by decode(..., skip_special_tokens = true)
  bool normalized = false;  // matched after normalization instead of on the raw text
};

// Finds occurrences of a fixed set of token strings (one matcher per "normalized" flag).
class AddedTokenMatcher {
 public:
  void build(const std::vector<AddedToken>& tokens, bool normalized);
  bool empty() const { return tokens_.empty(); }
  // Leftmost-longest match in text[from, end): sets *at and returns the token, or nullptr.
  const AddedToken* find(std::string_view text, size_t from, size_t* at) const;

 private:
  std::vector<const AddedToken*> tokens_;        // longest first within each first byte
  std::array<uint32_t, 257> first_byte_start_{};  // tokens_[start[b], start[b+1]) begin with b
};

}  // namespace kvbench
