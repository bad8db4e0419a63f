// SPDX-License-Identifier: Apache-2.0
// A JSON reader with Python json.loads semantics, for scorers that must accept and reject exactly
// what the official Python evaluators do: NaN / Infinity / -Infinity literals, lone surrogate
// escapes kept, control characters in strings rejected, duplicate keys (first position, last
// value), integers kept as exact digit strings (and rejected past CPython's 4300-digit limit).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kvbench {

struct PyJson {
  enum class Kind { kNull, kBool, kInt, kFloat, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string number;  // kInt: str(int(text)) (canonical digits); kFloat: the source text
  std::u32string text;  // kString (may hold surrogate code points from \u escapes)
  std::vector<PyJson> items;                              // kArray
  std::vector<std::pair<std::u32string, PyJson>> fields;  // kObject, dict order

  const PyJson* find(const std::u32string& key) const;
};

// json.loads(text): nullopt where Python raises (JSONDecodeError, ValueError, RecursionError).
std::optional<PyJson> py_json_loads(const std::string& text);

}  // namespace kvbench
