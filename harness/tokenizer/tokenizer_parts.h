// SPDX-License-Identifier: Apache-2.0
// The pieces a loaded tokenizer.json is made of (internal to harness/tokenizer): filled by the
// loader (tokenizer_json.cpp), used by Tokenizer's encode/decode (tokenizer.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/tokenizer/added_vocabulary.h"
#include "harness/tokenizer/bpe.h"
#include "harness/tokenizer/flat_map.h"
#include "harness/tokenizer/normalizer.h"
#include "harness/tokenizer/regex_splitter.h"

namespace kvbench {

// One pre-tokenizer stage; each stage splits every piece of the previous one further.
struct PreTokenizerStep {
  enum class Kind { kRegex, kDigits };
  Kind kind = Kind::kRegex;
  std::unique_ptr<RegexSplitter> regex;  // kRegex: Split(behavior=Isolated) or ByteLevel(use_regex)
  bool individual_digits = false;        // kDigits
};

struct TokenizerParts {
  std::string source;                  // tokenizer.json path
  std::unique_ptr<BpeModel> model;
  Normalizer normalizer;
  std::vector<PreTokenizerStep> pre_steps;
  std::vector<AddedToken> added;       // never resized after the matchers are built
  AddedTokenMatcher raw_matcher;       // added tokens with normalized = false
  AddedTokenMatcher normalized_matcher;
  FlatStringMap added_by_content;      // content -> index into `added`
  std::vector<int32_t> added_index;    // id -> index into `added`, or -1
  std::vector<int32_t> prefix_ids, suffix_ids;  // post-processor (add_special_tokens)
  std::string bos_token, eos_token, pad_token;
  std::optional<int32_t> bos_id, eos_id, pad_id;
  int32_t vocab_size = 0;
};

// Parses `tokenizer_json` (and `config_json` when not empty: tokenizer_config.json).
std::unique_ptr<TokenizerParts> load_tokenizer_parts(const std::string& tokenizer_json,
                                                     const std::string& config_json);

}  // namespace kvbench
