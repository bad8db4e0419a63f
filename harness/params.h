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

// kBudget: an attention budget, a token count >= 0, a fraction of the prompt in (0, 1) or a
// percentage string "P%" (harness/kv/budget.h parses it; budget_param() declares one).
enum class ParamType { kBool, kInt, kFloat, kString, kIntList, kFloatList, kStringList, kObject, kBudget };

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
  bool nullable = false;              // null is an accepted value (e.g. "max_new_tokens: null")
  // kBudget: the budget parser, run on the value at config time (harness/kv/budget.h
  // budget_param() fills it); throws a config Error naming the key and the accepted forms.
  std::function<void(const nlohmann::json& value, const std::string& key_path)> check;
  // The part of the method's attention budget this parameter sets, one of budget_roles() (the
  // fields of LayerBudget, harness/kv/method.h); empty: not a budget parameter.
  std::string budget_role;
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

// The roles of an attention budget, as LayerBudget reports them per layer: sink (prefix kept
// exactly), local (recent window kept exactly), outliers (rows/chunks kept exactly), selected
// (chosen per step by the method's scoring rule).
const std::vector<std::string>& budget_roles();

// {role: {"param": name, "value": resolved value}} for the specs that have a budget_role; params
// are the resolved parameters (resolve_params). Roles no parameter sets are absent.
nlohmann::json budget_by_role(const ParamSpecs& specs, const nlohmann::json& params);

// JSON object of the defaults (null where a parameter has none).
nlohmann::json default_params(const ParamSpecs& specs);

// The closest candidate by edit distance, or "" when none is close enough to suggest.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace kvbench
