// SPDX-License-Identifier: Apache-2.0
// GPT-2 byte-level alphabet tables (see byte_level.h).
#include "harness/tokenizer/byte_level.h"

#include <array>

#include "harness/tokenizer/utf8.h"

namespace kvbench::byte_level {
namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int, 324> to_byte{};  // indexed by code point; every mapped code point is < 324
  Tables() {
    to_byte.fill(-1);
    // Printable Latin-1 bytes stand for themselves; the other 68 bytes take 256, 257, ... in order.
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const char32_t c = printable(b) ? char32_t(b) : char32_t(next++);
      to_char[b] = c;
      to_byte[c] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_char(unsigned char b) { return tables().to_char[b]; }

std::optional<unsigned char> char_to_byte(char32_t c) {
  if (c >= tables().to_byte.size() || tables().to_byte[c] < 0) return std::nullopt;
  return static_cast<unsigned char>(tables().to_byte[c]);
}

std::optional<std::string> decode_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  size_t i = 0;
  while (i < token.size()) {
    const size_t n = utf8::valid_sequence_length(token, i);
    if (n == 0) return std::nullopt;
    const auto b = char_to_byte(utf8::decode_at(token, i, n));
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
    i += n;
  }
  return out;
}

std::string encode_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8::append(out, byte_to_char(b));
  return out;
}

}  // namespace kvbench::byte_level
