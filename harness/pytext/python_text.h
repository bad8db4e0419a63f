// SPDX-License-Identifier: Apache-2.0
// Python string behaviours that task recipes depend on byte for byte: str.format with named
// fields, text-mode reading (universal newlines, readlines()), str.rstrip() and random.shuffle.
// Used by the RULER, NeedleBench and LongProc task files.
#pragma once

#include "harness/pytext/python_random.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kvbench {

// template.format(**fields): "{name}" is replaced by fields[name], "{{" / "}}" by one brace.
// Replacement text is never re-scanned. A field missing from `fields`, a format spec or conversion
// ("{x:>3}", "{x!r}") or a lone brace is a kvbench::Error (kInput) naming `source`.
std::string python_format(const std::string& templ, const std::map<std::string, std::string>& fields,
                          const std::string& source);

// open(path, 'r').read() semantics on already-read bytes: "\r\n" and "\r" become "\n".
std::string universal_newlines(const std::string& text);

// open(path, 'r').readlines() on already-read bytes: universal newlines, every line keeps its
// "\n" (the last one may lack it); an empty text gives no lines.
std::vector<std::string> python_readlines(const std::string& text);

// str.rstrip() / str.strip() for ASCII whitespace (" \t\n\r\v\f" and the \x1c-\x1f separators
// Python also strips); non-ASCII whitespace is not stripped (the data files here have none).
std::string python_rstrip(const std::string& s);
std::string python_strip(const std::string& s);

// random.shuffle(items) with `rng` (CPython: for i from n-1 down to 1, swap i with randbelow(i+1)).
template <class T>
void python_shuffle(std::vector<T>& items, PythonRandom& rng) {
  for (size_t i = items.size(); i-- > 1;) {
    size_t j = static_cast<size_t>(rng.randbelow(i + 1));
    std::swap(items[i], items[j]);
  }
}

}  // namespace kvbench
