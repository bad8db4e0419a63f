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

// Finds occurrences of a fixed set of token strings (one matcher per "normalized" flag) with a
// byte trie: at each position the walk stops at the first byte no token continues with, so text
// full of '<' (HTML) costs a step or two per '<' even with hundreds of "<|...|>" tokens.
class AddedTokenMatcher {
 public:
  void build(const std::vector<AddedToken>& tokens, bool normalized);
  bool empty() const { return nodes_.size() <= 1; }
  // Leftmost-longest match in text[from, end): sets *at and returns the token, or nullptr.
  const AddedToken* find(std::string_view text, size_t from, size_t* at) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    const AddedToken* token = nullptr;                        // a token ends here
  };
  int32_t child(int32_t node, unsigned char b) const;
  std::vector<Node> nodes_;           // nodes_[0] is the root
  std::array<bool, 256> starts_{};    // some token starts with this byte
};

}  // namespace kvbench
