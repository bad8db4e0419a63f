// SPDX-License-Identifier: Apache-2.0
// Parsing JSON text from a file into nlohmann::json with one clear error. nlohmann throws two kinds
// of exception while parsing: parse_error (bad syntax, with a byte offset) and out_of_range 406 (a
// number too large for a double, e.g. 1e999); both become one kvbench Error naming `where`.
#pragma once

#include "harness/error.h"

#include <nlohmann/json.hpp>

#include <string>

namespace kvbench {

// Parses `text` as one JSON document. On failure throws Error(kind) with the message
// "<where>: [<what>: ]invalid JSON at byte <n>: <reason>" (syntax) or "<where>: [<what>: ]invalid
// JSON: <reason>" (number out of range); `what` says what the text was (e.g. "corrupt sample row
// (not a torn last line)").
nlohmann::json parse_json_text(const std::string& text, ErrorKind kind, const std::string& where,
                               const std::string& what = "");

}  // namespace kvbench
