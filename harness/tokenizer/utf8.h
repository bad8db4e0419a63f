// SPDX-License-Identifier: Apache-2.0
// UTF-8 helpers shared by the tokenizer: decoding one code point, lossy repair of invalid input
// (Python's bytes.decode("utf-8", "replace") / Rust's String::from_utf8_lossy: every maximal
// invalid subpart becomes one U+FFFD), and Python's str.isspace() for chat-template trim().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kvbench::utf8 {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not a
// complete, well-formed sequence (overlong forms, surrogates and > U+10FFFF are invalid).
size_t valid_sequence_length(std::string_view s, size_t i);

// Decodes the code point at s[i]; requires valid_sequence_length(s, i) == n > 0.
char32_t decode_at(std::string_view s, size_t i, size_t n);

// Appends the UTF-8 encoding of `cp` (must be a scalar value).
void append(std::string& out, char32_t cp);

// True when every byte sequence in `s` is well-formed UTF-8.
bool is_valid(std::string_view s);

// Returns `s` with each maximal invalid subpart (Unicode 15 §3.9, "U+FFFD substitution of maximal
// subparts", the policy of Python and Rust) replaced by U+FFFD. Valid input is returned unchanged.
std::string repair(std::string_view s);

// Length of the longest prefix of `s` that does not end inside an incomplete (but so far valid)
// multi-byte sequence: the bytes after it could still become a character when more bytes arrive.
size_t complete_prefix_length(std::string_view s);

// Python str.isspace() for one code point (White_Space plus U+001C..U+001F).
bool is_python_space(char32_t cp);

// Python str.strip() with no argument (used by Jinja's |trim filter).
std::string_view python_strip(std::string_view s);

}  // namespace kvbench::utf8
