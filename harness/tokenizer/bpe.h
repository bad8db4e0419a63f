// SPDX-License-Identifier: Apache-2.0
// Byte-level BPE merge engine: turns one pre-token (raw bytes) into token ids by applying merges
// in rank order (lowest rank first, leftmost first among equal ranks), exactly as Hugging Face's
// BPE model does, with its `ignore_merges` shortcut (a pre-token that is itself a vocabulary
// entry becomes that one token).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/tokenizer/flat_map.h"

namespace kvbench {

class BpeModel {
 public:
  // vocab: (token as written in tokenizer.json, id); merges: (left, right) in rank order.
  // `source` names the file for error messages. Throws kvbench::Error (kInput) when a merge names
  // a token missing from the vocabulary, or a byte has no single-byte token.
  BpeModel(const std::vector<std::pair<std::string, int32_t>>& vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, bool ignore_merges,
           const std::string& source);

  // Appends the ids of one pre-token (raw bytes, not empty) to `out`.
  void encode_piece(std::string_view bytes, std::vector<int32_t>& out) const;

  // Raw bytes of token `id`, or nullptr when `id` is not a model token.
  const std::string* token_bytes(int32_t id) const {
    return id >= 0 && size_t(id) < id_bytes_.size() && id_valid_[id] ? &id_bytes_[id] : nullptr;
  }
  // Vocabulary spelling (byte-level alphabet) of token `id`, or nullptr.
  const std::string* token_text(int32_t id) const {
    return id >= 0 && size_t(id) < id_text_.size() && id_valid_[id] ? &id_text_[id] : nullptr;
  }
  // Id of a raw byte string that is one token, or -1.
  int32_t find_bytes(std::string_view bytes) const { return vocab_.find(bytes); }
  size_t vocab_size() const { return vocab_.size(); }
  int32_t max_id() const { return int32_t(id_bytes_.size()) - 1; }

 private:
  void merge_small(std::vector<int32_t>& symbols) const;
  void merge_large(std::vector<int32_t>& symbols) const;

  FlatStringMap vocab_;            // raw bytes -> id
  PairMap merges_;                 // (left id, right id) -> (rank, merged id)
  int32_t byte_ids_[256];          // id of each single byte
  std::vector<std::string> id_bytes_;
  std::vector<std::string> id_text_;
  std::vector<bool> id_valid_;
  bool ignore_merges_ = false;
};

}  // namespace kvbench
