// SPDX-License-Identifier: Apache-2.0
// Parameter specifications for registered components (methods, tasks, metrics). A component declares
// its parameters once (name, type, default, bounds, help); the config validator resolves a user's
// params object against the spec (defaults filled, unknown keys rejected with a suggestion, types and
// ranges checked), and `kvbench list` prints the same spec. The spec is the single source of truth
// for defaults; configs/methods/<name>.yaml must agree with it (tested).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kvbench {

enum class ParamType { kBool, kInt, kFloat, kString, kIntList, kFloatList, kStringList, kObject };

const char* param_type_name(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  nlohmann::json default_value;       // null: no default (see `required`)
  std::string help;
  std::optional<double> min;          // inclusive bounds for numbers (and list elements)
  std::optional<double> max;
  std::vector<std::string> choices;   // allowed values for strings; empty: any
  bool required = false;
  bool nullable = false;              // null is an accepted value (e.g. "budget_tokens: null")
};

using ParamSpecs = std::vector<ParamSpec>;

// Where a config value came from, for error messages: "file:line:column" or "--set key=value".
using LocateFn = std::function<std::string(const std::string& key_path)>;

// Resolves `given` (a JSON object or null) against `specs`: fills defaults, rejects unknown keys
// ("did you mean"), checks types, ranges and choices. Integers are accepted where floats are
// expected. Errors are kvbench::Error(kConfig) naming the full key path (key_prefix + "." + name) and
// its location. Returns the resolved object (every spec'd key present; required ones checked).
nlohmann::json resolve_params(const ParamSpecs& specs, const nlohmann::json& given,
                              const std::string& key_prefix, const LocateFn& locate);

// JSON object of the defaults (null where a parameter has none).
nlohmann::json default_params(const ParamSpecs& specs);

// The closest candidate by edit distance, or "" when none is close enough to suggest.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace kvbench
