// SPDX-License-Identifier: Apache-2.0
// Text normalizers a tokenizer.json may declare, as far as the supported models use them: none,
// NFC (Qwen 2/2.5/3), or a Sequence of those. Unicode normalization comes from ICU.
#pragma once

#include <string>
#include <string_view>

namespace kvbench {

class Normalizer {
 public:
  enum class Kind { kNone, kNfc };
  Normalizer() = default;
  explicit Normalizer(Kind kind) : kind_(kind) {}

  bool is_identity() const { return kind_ == Kind::kNone; }
  // Normalized form of valid UTF-8 `text`. Returns false and leaves `out` untouched when the text
  // is already normalized (the common case; no copy is made).
  bool normalize(std::string_view text, std::string& out) const;

 private:
  Kind kind_ = Kind::kNone;
};

}  // namespace kvbench
