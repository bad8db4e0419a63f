// SPDX-License-Identifier: Apache-2.0
// Token-level truncation of prompts that exceed a model's budget: keep the head, keep the tail,
// or keep both ends (LongBench's middle truncation: first max/2 and last max/2 tokens).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvbench {

class Tokenizer;

enum class TruncationSide {
  kKeepHead,      // drop tokens from the end
  kKeepTail,      // drop tokens from the start
  kKeepBothEnds,  // drop the middle: keep max/2 (floor) from each end, as LongBench's pred.py
};

// `ids` unchanged when ids.size() <= max_tokens. kKeepBothEnds keeps 2 * (max_tokens / 2) tokens
// (one fewer than max_tokens when it is odd, exactly like LongBench's int(max_length / 2)).
std::vector<int32_t> truncate_tokens(const std::vector<int32_t>& ids, size_t max_tokens,
                                     TruncationSide side);

// LongBench pred.py on a prompt string: encode with special tokens; if longer than max_length,
// decode(first half, skip_special_tokens) + decode(last half, skip_special_tokens); otherwise the
// prompt unchanged. Matches LongBench run with transformers 5 (checked by a parity test), which
// ignores clean_up_tokenization_spaces for BPE tokenizers; transformers 4.x applied that cleanup
// (" ." -> "." etc.) when tokenizer_config.json set it, as Llama 3's does.
std::string truncate_middle_longbench(const Tokenizer& tokenizer, std::string_view prompt,
                                      size_t max_length);

}  // namespace kvbench
