// SPDX-License-Identifier: Apache-2.0
// GPT-2 byte-level alphabet: the bijection between the 256 byte values and 256 printable code
// points that byte-level BPE vocabularies are written in ("Ġ" = 0x20, "Ċ" = 0x0A, ...).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kvbench::byte_level {

// Code point that stands for byte `b` in vocabulary strings.
char32_t byte_to_char(unsigned char b);

// Byte that code point `c` stands for, or nullopt when `c` is outside the alphabet.
std::optional<unsigned char> char_to_byte(char32_t c);

// Raw bytes of a vocabulary string written in the alphabet; nullopt when a character is not in
// it (such a token can never be produced by byte-level BPE).
std::optional<std::string> decode_token(std::string_view token);

// Vocabulary form of raw bytes (inverse of decode_token).
std::string encode_bytes(std::string_view bytes);

}  // namespace kvbench::byte_level
