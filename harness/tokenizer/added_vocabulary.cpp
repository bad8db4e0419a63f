// SPDX-License-Identifier: Apache-2.0
// Leftmost-longest matching of added tokens (see added_vocabulary.h).
#include "harness/tokenizer/added_vocabulary.h"

#include <algorithm>

namespace kvbench {

void AddedTokenMatcher::build(const std::vector<AddedToken>& tokens, bool normalized) {
  nodes_.assign(1, Node{});
  starts_.fill(false);
  for (const AddedToken& t : tokens) {
    if (t.normalized != normalized || t.content.empty()) continue;
    int32_t node = 0;
    for (char ch : t.content) {
      const auto b = static_cast<unsigned char>(ch);
      int32_t next = child(node, b);
      if (next < 0) {
        next = int32_t(nodes_.size());
        nodes_.emplace_back();
        auto& kids = nodes_[node].children;
        kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, int32_t(-1))),
                    {b, next});
      }
      node = next;
    }
    // Two tokens with the same content: the first one listed wins.
    if (!nodes_[node].token) nodes_[node].token = &t;
    starts_[static_cast<unsigned char>(t.content[0])] = true;
  }
}

int32_t AddedTokenMatcher::child(int32_t node, unsigned char b) const {
  for (const auto& [byte, next] : nodes_[node].children) {
    if (byte == b) return next;
    if (byte > b) break;
  }
  return -1;
}

const AddedToken* AddedTokenMatcher::find(std::string_view text, size_t from, size_t* at) const {
  if (empty()) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = from; i < text.size(); ++i) {
    if (!starts_[p[i]]) continue;
    const AddedToken* best = nullptr;
    int32_t node = 0;
    for (size_t k = i; k < text.size(); ++k) {
      node = child(node, p[k]);
      if (node < 0) break;
      if (nodes_[node].token) best = nodes_[node].token;  // deeper = longer
    }
    if (best) {
      *at = i;
      return best;
    }
  }
  return nullptr;
}

}  // namespace kvbench
