// SPDX-License-Identifier: Apache-2.0
// A config document: the JSON value of one or more YAML/JSON files (YAML 1.2 parser; JSON is read by
// the same parser so both formats share one schema), merged through `include:` and `--set`, plus the
// origin of every key ("file:line:column" or "--set key=value") for error messages.
// Layering: included files (in order) < the including file < --set overrides. Mappings merge
// key by key; lists and scalars are replaced whole.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kvbench {

struct ConfigDocument {
  nlohmann::json value = nlohmann::json::object();
  std::map<std::string, std::string> origin;  // key path ("a.b[2].c") -> where it was written
  std::vector<std::string> files;             // every file read, includes first

  // Where `key_path` (or its nearest written ancestor) came from; "" if unknown.
  std::string locate(const std::string& key_path) const;
};

// Reads a .yaml/.yml/.json file and resolves its `include:` (a path or list of paths, relative to
// the including file). Errors (kConfig) name the file, line and column.
ConfigDocument load_config_document(const std::filesystem::path& path);

// Parses a YAML/JSON text (for tests and --set values); `source` names it in errors and origins.
ConfigDocument parse_config_text(const std::string& text, const std::string& source);

// Applies "key.path=value" (value parsed as YAML: numbers, booleans, null, [lists], {maps}, strings).
void apply_override(ConfigDocument& doc, const std::string& assignment);

// Sets `value` at a dotted key path ("a.b.c"), creating mappings on the way; `origin` is recorded.
void set_key_path(ConfigDocument& doc, const std::string& key_path, const nlohmann::json& value,
                  const std::string& origin);

// Value at a dotted key path, or null.
nlohmann::json get_key_path(const nlohmann::json& value, const std::string& key_path);

// Splits "a.b.c" into {"a","b","c"}; rejects empty segments.
std::vector<std::string> split_key_path(const std::string& key_path);

}  // namespace kvbench
