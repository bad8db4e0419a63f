// SPDX-License-Identifier: Apache-2.0
// Python str semantics over UTF-32 text (see unicode_text.h); tables in unicode_tables.inc.
#include "harness/pytext/unicode_text.h"

#include <algorithm>
#include <cstdint>

namespace kvbench {
namespace {

struct CodeRange {
  char32_t first;
  char32_t last;
};
struct CodeMap {
  char32_t from;
  char32_t to;
};
struct CodeMapMulti {
  char32_t from;
  int count;
  char32_t to[3];
};

#include "harness/pytext/unicode_tables.inc"

template <size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t c) {
  // Ranges are sorted and disjoint: find the last range whose first <= c.
  const CodeRange* end = table + N;
  const CodeRange* it = std::upper_bound(
      table, end, c, [](char32_t value, const CodeRange& r) { return value < r.first; });
  if (it == table) return false;
  --it;
  return c <= it->last;
}

bool is_cased(char32_t c) { return in_ranges(kCased, c); }
bool is_case_ignorable(char32_t c) { return in_ranges(kCaseIgnorable, c); }

// CPython's handle_capital_sigma: final form when a cased letter precedes (skipping case-ignorables)
// and no cased letter follows (skipping case-ignorables).
char32_t lower_capital_sigma(const std::u32string& text, size_t i) {
  size_t j = i;
  char32_t c = 0;
  bool found = false;
  while (j > 0) {
    --j;
    c = text[j];
    if (!is_case_ignorable(c)) {
      found = true;
      break;
    }
  }
  bool final_sigma = found && is_cased(c);
  if (final_sigma && i + 1 < text.size()) {
    size_t k = i + 1;
    for (; k < text.size(); ++k) {
      c = text[k];
      if (!is_case_ignorable(c)) break;
    }
    final_sigma = k == text.size() || !is_cased(c);
  }
  return final_sigma ? U'\u03C2' : U'\u03C3';
}

}  // namespace

std::u32string utf8_to_u32(const std::string& text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
  while (i < n) {
    unsigned char b = s[i];
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int len = 0;
    char32_t cp = 0, min_cp = 0;
    if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1F, min_cp = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0F, min_cp = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07, min_cp = 0x10000;
    }
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (ok && (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      out.push_back(U'\uFFFD');
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string u32_to_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool py_isspace(char32_t c) { return in_ranges(kSpace, c); }
bool py_re_is_word(char32_t c) { return in_ranges(kReWord, c); }
bool py_re_is_digit(char32_t c) { return in_ranges(kReDigit, c); }
bool py_re_is_space(char32_t c) { return in_ranges(kReSpace, c); }

std::u32string py_lower(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char32_t c = text[i];
    if (c < 0x80) {
      out.push_back((c >= 'A' && c <= 'Z') ? c + 32 : c);
      continue;
    }
    if (c == U'\u03A3') {
      out.push_back(lower_capital_sigma(text, i));
      continue;
    }
    const CodeMap* end = kLower + sizeof(kLower) / sizeof(kLower[0]);
    const CodeMap* it =
        std::lower_bound(kLower, end, c, [](const CodeMap& m, char32_t v) { return m.from < v; });
    if (it != end && it->from == c) {
      out.push_back(it->to);
      continue;
    }
    bool multi = false;
    for (const CodeMapMulti& m : kLowerMulti) {
      if (m.from == c) {
        out.append(m.to, m.to + m.count);
        multi = true;
        break;
      }
    }
    if (!multi) out.push_back(c);
  }
  return out;
}

std::string py_lower_utf8(const std::string& text) { return u32_to_utf8(py_lower(utf8_to_u32(text))); }

std::vector<std::u32string> py_split_whitespace(const std::u32string& text) {
  std::vector<std::u32string> out;
  size_t i = 0, n = text.size();
  while (i < n) {
    while (i < n && py_isspace(text[i])) ++i;
    if (i >= n) break;
    size_t j = i;
    while (j < n && !py_isspace(text[j])) ++j;
    out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

std::u32string py_strip(const std::u32string& text) {
  size_t a = 0, b = text.size();
  while (a < b && py_isspace(text[a])) ++a;
  while (b > a && py_isspace(text[b - 1])) --b;
  return text.substr(a, b - a);
}

std::string py_strip_utf8(const std::string& text) { return u32_to_utf8(py_strip(utf8_to_u32(text))); }

std::u32string py_strip_chars(const std::u32string& text, const std::u32string& chars, bool left,
                              bool right) {
  auto in_set = [&](char32_t c) { return chars.find(c) != std::u32string::npos; };
  size_t a = 0, b = text.size();
  if (left)
    while (a < b && in_set(text[a])) ++a;
  if (right)
    while (b > a && in_set(text[b - 1])) --b;
  return text.substr(a, b - a);
}

std::vector<std::u32string> py_find_digit_runs(const std::u32string& text) {
  std::vector<std::u32string> out;
  size_t i = 0, n = text.size();
  while (i < n) {
    if (!py_re_is_digit(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && py_re_is_digit(text[j])) ++j;
    out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace kvbench
