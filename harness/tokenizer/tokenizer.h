// SPDX-License-Identifier: Apache-2.0
// kvbench::Tokenizer: a Hugging Face tokenizer.json (byte-level BPE: Llama 3, Qwen 2/2.5/3,
// GPT-2-style checkpoints such as SmolLM2) reimplemented to give identical ids. Pipeline of encode:
// repair invalid UTF-8 -> split out added tokens -> normalize -> pre-tokenize (regex) -> BPE per
// piece -> post-process (e.g. Llama 3.1's BOS). Immutable after loading; encode/decode are
// thread-safe.
//
// Invalid UTF-8 input: encode() first replaces every maximal invalid subpart with U+FFFD, which
// is what Python does for bytes.decode("utf-8", errors="replace") before text reaches Hugging
// Face (whose API only takes valid strings); the ids are those of the repaired text.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/tokenizer/added_vocabulary.h"

namespace kvbench {

struct TokenizerParts;  // tokenizer_parts.h

class Tokenizer {
 public:
  // `path` is a tokenizer.json file or a model folder holding one. A tokenizer_config.json next to
  // it, when present, supplies the bos/eos/pad token names (as transformers reads them).
  // Throws kvbench::Error (kInput) naming the file and field for malformed or unsupported files.
  static Tokenizer load(const std::string& path);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Token ids of `text`. add_special_tokens applies the post-processor (Llama 3.1: BOS first).
  // Special tokens written in the text are recognized (Hugging Face's default). Texts must be
  // shorter than 4 GiB.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;

  // Text of `ids`: token bytes concatenated, then invalid UTF-8 replaced by U+FFFD (as Hugging
  // Face does). skip_special_tokens drops added tokens marked special. Unknown ids are skipped.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;
  std::string decode(const int32_t* ids, size_t n, bool skip_special_tokens = false) const;
  // Raw bytes of `ids` before the UTF-8 repair (used by the streaming decoder).
  void append_bytes(const int32_t* ids, size_t n, bool skip_special_tokens, std::string& out) const;

  // The tokenizer's normalizer applied to `text` (identity for Llama 3; NFC for Qwen). For valid
  // UTF-8 without added tokens, decode(encode(text)) == normalize(text).
  std::string normalize(std::string_view text) const;

  // Vocabulary: spelling as in tokenizer.json (byte-level alphabet for BPE tokens).
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;
  // Largest id + 1 over the model and the added tokens (rows an embedding table needs).
  int32_t vocab_size() const;
  const std::vector<AddedToken>& added_tokens() const;

  // Special tokens named by tokenizer_config.json (or, for bos, by the post-processor).
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  std::optional<int32_t> pad_id() const;
  const std::string& bos_token() const;  // empty when none
  const std::string& eos_token() const;

  // Ids the post-processor puts before / after the text when add_special_tokens is true.
  const std::vector<int32_t>& prefix_ids() const;
  const std::vector<int32_t>& suffix_ids() const;

  // File the tokenizer was loaded from.
  const std::string& source() const;

 private:
  explicit Tokenizer(std::unique_ptr<TokenizerParts> parts);
  void encode_segment(std::string_view text, std::vector<int32_t>& out, void* cache) const;
  void encode_pretokenized(std::string_view text, std::vector<int32_t>& out, void* cache) const;
  std::unique_ptr<TokenizerParts> p_;
};

}  // namespace kvbench
