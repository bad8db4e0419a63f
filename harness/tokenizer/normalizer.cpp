// SPDX-License-Identifier: Apache-2.0
// NFC through ICU's UTF-8 normalizer, with an ASCII / below-U+0300 fast path (see normalizer.h).
#include "harness/tokenizer/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include "harness/error.h"

namespace kvbench {

namespace {

// Every code point below U+0300 is NFC-stable and never composes with what precedes it, so text
// whose bytes are all < 0xCC (lead bytes of U+0300 and above start at 0xCC) needs no work.
bool trivially_nfc(std::string_view text) {
  for (unsigned char c : text)
    if (c >= 0xCC) return false;
  return true;
}

}  // namespace

bool Normalizer::normalize(std::string_view text, std::string& out) const {
  if (kind_ == Kind::kNone || trivially_nfc(text)) return false;
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  KVBENCH_CHECK(U_SUCCESS(status), "ICU NFC normalizer unavailable: ", u_errorName(status));
  const icu::StringPiece piece(text.data(), int32_t(text.size()));
  if (nfc->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return false;
  status = U_ZERO_ERROR;
  std::string result;
  result.reserve(text.size());
  icu::StringByteSink<std::string> sink(&result);
  nfc->normalizeUTF8(0, piece, sink, nullptr, status);
  KVBENCH_CHECK(U_SUCCESS(status), "ICU NFC normalization failed: ", u_errorName(status));
  out = std::move(result);
  return true;
}

}  // namespace kvbench
