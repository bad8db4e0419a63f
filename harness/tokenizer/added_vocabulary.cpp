// SPDX-License-Identifier: Apache-2.0
// Leftmost-longest matching of added tokens (see added_vocabulary.h).
#include "harness/tokenizer/added_vocabulary.h"

#include <algorithm>
#include <cstring>

namespace kvbench {

void AddedTokenMatcher::build(const std::vector<AddedToken>& tokens, bool normalized) {
  tokens_.clear();
  for (const AddedToken& t : tokens)
    if (t.normalized == normalized && !t.content.empty()) tokens_.push_back(&t);
  std::stable_sort(tokens_.begin(), tokens_.end(), [](const AddedToken* a, const AddedToken* b) {
    const auto fa = static_cast<unsigned char>(a->content[0]);
    const auto fb = static_cast<unsigned char>(b->content[0]);
    return fa != fb ? fa < fb : a->content.size() > b->content.size();
  });
  size_t k = 0;
  for (int b = 0; b <= 256; ++b) {
    while (k < tokens_.size() && static_cast<unsigned char>(tokens_[k]->content[0]) < b) ++k;
    first_byte_start_[b] = static_cast<uint32_t>(k);
  }
}

const AddedToken* AddedTokenMatcher::find(std::string_view text, size_t from, size_t* at) const {
  if (tokens_.empty()) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = from; i < text.size(); ++i) {
    const unsigned b = p[i];
    const uint32_t lo = first_byte_start_[b], hi = first_byte_start_[b + 1];
    for (uint32_t k = lo; k < hi; ++k) {
      const std::string& c = tokens_[k]->content;
      if (c.size() <= text.size() - i && std::memcmp(c.data(), p + i, c.size()) == 0) {
        *at = i;
        return tokens_[k];
      }
    }
  }
  return nullptr;
}

}  // namespace kvbench
