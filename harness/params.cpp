// SPDX-License-Identifier: Apache-2.0
#include "harness/params.h"

#include "harness/error.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace kvbench {

const char* param_type_name(ParamType type) {
  switch (type) {
    case ParamType::kBool: return "boolean";
    case ParamType::kInt: return "integer";
    case ParamType::kFloat: return "number";
    case ParamType::kString: return "string";
    case ParamType::kIntList: return "list of integers";
    case ParamType::kFloatList: return "list of numbers";
    case ParamType::kStringList: return "list of strings";
    case ParamType::kObject: return "mapping";
    case ParamType::kBudget: return "budget (tokens, fraction or \"P%\")";
  }
  return "?";
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool is_number(const nlohmann::json& v) { return v.is_number() && !v.is_boolean(); }

std::string where(const LocateFn& locate, const std::string& path) {
  std::string loc = locate ? locate(path) : "";
  return loc.empty() ? "" : loc + ": ";
}

// Checks one scalar against the spec; `path` names it in the message.
void check_scalar(const ParamSpec& spec, ParamType scalar_type, const nlohmann::json& v,
                  const std::string& path, const LocateFn& locate) {
  auto fail = [&](const std::string& what) {
    KVBENCH_FAIL(ErrorKind::kConfig, where(locate, path), path, ": ", what);
  };
  switch (scalar_type) {
    case ParamType::kBool:
      if (!v.is_boolean()) fail(str_cat("expected a boolean (true/false), got ", v.dump()));
      return;
    case ParamType::kInt:
      if (!v.is_number_integer())
        fail(str_cat("expected an integer, got ", v.dump()));
      break;
    case ParamType::kFloat:
      if (!is_number(v)) fail(str_cat("expected a number, got ", v.dump()));
      break;
    case ParamType::kString:
      if (!v.is_string()) fail(str_cat("expected a string, got ", v.dump()));
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), v.get<std::string>()) ==
              spec.choices.end()) {
        std::string allowed;
        for (const auto& c : spec.choices) allowed += (allowed.empty() ? "" : ", ") + c;
        std::string hint = closest_match(v.get<std::string>(), spec.choices);
        fail(str_cat("'", v.get<std::string>(), "' is not one of {", allowed, "}",
                     hint.empty() ? "" : str_cat(" (did you mean '", hint, "'?)")));
      }
      return;
    default:
      return;
  }
  double x = v.get<double>();
  if (!std::isfinite(x)) fail("expected a finite number");
  if ((spec.min && x < *spec.min) || (spec.max && x > *spec.max)) {
    std::string range = spec.min && spec.max ? str_cat("[", *spec.min, ", ", *spec.max, "]")
                        : spec.min           ? str_cat(">= ", *spec.min)
                                             : str_cat("<= ", *spec.max);
    fail(str_cat("value ", v.dump(), " is out of range; allowed: ", range));
  }
}

}  // namespace

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  // Suggest only plausible typos: at most a third of the word wrong (and at least 1 edit allowed).
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_distance <= limit ? best : "";
}

const std::vector<std::string>& budget_roles() {
  static const std::vector<std::string> roles = {"sink", "local", "outliers", "selected"};
  return roles;
}

nlohmann::json budget_by_role(const ParamSpecs& specs, const nlohmann::json& params) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& spec : specs) {
    if (spec.budget_role.empty()) continue;
    out[spec.budget_role] = {{"param", spec.name},
                             {"value", params.is_object() && params.contains(spec.name) ? params[spec.name]
                                                                                         : spec.default_value}};
  }
  return out;
}

nlohmann::json default_params(const ParamSpecs& specs) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : specs) out[s.name] = s.default_value;
  return out;
}

nlohmann::json resolve_params(const ParamSpecs& specs, const nlohmann::json& given,
                              const std::string& key_prefix, const LocateFn& locate) {
  nlohmann::json out = nlohmann::json::object();
  if (!given.is_null() && !given.is_object())
    KVBENCH_FAIL(ErrorKind::kConfig, where(locate, key_prefix), key_prefix,
                 ": expected a mapping of parameters, got ", given.dump());
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  if (given.is_object()) {
    for (const auto& [key, value] : given.items()) {
      if (std::find(names.begin(), names.end(), key) != names.end()) continue;
      std::string path = key_prefix + "." + key;
      std::string hint = closest_match(key, names);
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      KVBENCH_FAIL(ErrorKind::kConfig, where(locate, path), "unknown key '", path, "'",
                   hint.empty() ? "" : str_cat(" (did you mean '", key_prefix, ".", hint, "'?)"),
                   "; known keys: ", known.empty() ? "(none)" : known);
    }
  }
  for (const auto& spec : specs) {
    std::string path = key_prefix + "." + spec.name;
    bool present = given.is_object() && given.contains(spec.name);
    nlohmann::json v = present ? given.at(spec.name) : spec.default_value;
    if (v.is_null()) {
      if (spec.required) KVBENCH_FAIL(ErrorKind::kConfig, where(locate, key_prefix), path, ": required");
      if (present && !spec.nullable && !spec.default_value.is_null())
        KVBENCH_FAIL(ErrorKind::kConfig, where(locate, path), path, ": must not be null");
      out[spec.name] = nullptr;
      continue;
    }
    switch (spec.type) {
      case ParamType::kIntList:
      case ParamType::kFloatList:
      case ParamType::kStringList: {
        if (!v.is_array())
          KVBENCH_FAIL(ErrorKind::kConfig, where(locate, path), path, ": expected a ",
                       param_type_name(spec.type), ", got ", v.dump());
        ParamType element = spec.type == ParamType::kIntList     ? ParamType::kInt
                            : spec.type == ParamType::kFloatList ? ParamType::kFloat
                                                                 : ParamType::kString;
        for (size_t i = 0; i < v.size(); ++i)
          check_scalar(spec, element, v[i], str_cat(path, "[", i, "]"), locate);
        break;
      }
      case ParamType::kBudget:
        if (!is_number(v) && !v.is_string())
          KVBENCH_FAIL(ErrorKind::kConfig, where(locate, path), path,
                       ": expected a budget: a token count >= 0 (2048), a fraction of the prompt in (0, 1) "
                       "(0.03125) or a percentage (\"3.125%\"), got ", v.dump());
        if (spec.check) {
          try {
            spec.check(v, path);
          } catch (const Error& e) {
            KVBENCH_FAIL(ErrorKind::kConfig, where(locate, path), e.what());
          }
        }
        break;
      case ParamType::kObject:
        if (!v.is_object())
          KVBENCH_FAIL(ErrorKind::kConfig, where(locate, path), path, ": expected a mapping, got ",
                       v.dump());
        break;
      default:
        check_scalar(spec, spec.type, v, path, locate);
    }
    // Numbers of float and budget parameters are stored as doubles (so 2048 and 2048.0 hash alike);
    // budget strings ("3.125%") are kept as written.
    if (spec.type == ParamType::kFloat || (spec.type == ParamType::kBudget && is_number(v))) v = v.get<double>();
    out[spec.name] = v;
  }
  return out;
}

}  // namespace kvbench
