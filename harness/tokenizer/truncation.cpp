// SPDX-License-Identifier: Apache-2.0
// Truncation helpers (see truncation.h).
#include "harness/tokenizer/truncation.h"

#include "harness/tokenizer/tokenizer.h"

namespace kvbench {

std::vector<int32_t> truncate_tokens(const std::vector<int32_t>& ids, size_t max_tokens,
                                     TruncationSide side) {
  if (ids.size() <= max_tokens) return ids;
  switch (side) {
    case TruncationSide::kKeepHead:
      return {ids.begin(), ids.begin() + max_tokens};
    case TruncationSide::kKeepTail:
      return {ids.end() - max_tokens, ids.end()};
    case TruncationSide::kKeepBothEnds: {
      const size_t half = max_tokens / 2;
      std::vector<int32_t> out(ids.begin(), ids.begin() + half);
      out.insert(out.end(), ids.end() - half, ids.end());
      return out;
    }
  }
  return ids;
}

std::string truncate_middle_longbench(const Tokenizer& tokenizer, std::string_view prompt,
                                      size_t max_length) {
  const std::vector<int32_t> ids = tokenizer.encode(prompt, true);
  if (ids.size() <= max_length) return std::string(prompt);
  const size_t half = max_length / 2;
  return tokenizer.decode(ids.data(), half, true) +
         tokenizer.decode(ids.data() + ids.size() - half, half, true);
}

}  // namespace kvbench
