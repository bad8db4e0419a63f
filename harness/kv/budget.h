// SPDX-License-Identifier: Apache-2.0
// TokenBudget: a method budget given either as a fraction of the prompt or as absolute tokens, and
// resolved to a token count per prompt. Config values: a number in (0, 1) or a string "3.125%" is a
// fraction of the prompt length; an integer >= 1 (or "2048") is tokens; 0 means none.
// Resolution: fraction -> floor(fraction * prompt_tokens) (methods apply their own rounding to
// chunk/page multiples on top and record the result), tokens -> min(tokens, prompt_tokens) unless
// the caller asks for the unclamped value.
// Config time: methods declare budget parameters with budget_param() (ParamType::kBudget), so the
// same parser validates a config before anything runs and a bad budget is an error naming the key
// and the accepted forms. Each budget parameter has a role (sink, local, outliers, selected:
// budget_roles() in harness/params.h, the fields of LayerBudget).
#pragma once

#include "harness/params.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace kvbench {

struct TokenBudget {
  bool is_fraction = false;
  double fraction = 0;   // when is_fraction
  int64_t tokens = 0;    // when !is_fraction

  // `param` names the parameter in errors ("method.params.sparse_budget: ...").
  static TokenBudget parse(const nlohmann::json& value, const std::string& param);
  int64_t resolve(int64_t prompt_tokens, bool clamp_to_prompt = true) const;
  std::string describe() const;  // "3.125%" or "2048 tokens"
};

// The accepted budget forms, as error messages list them.
extern const char* const kBudgetForms;
extern const char* const kFractionBudgetForms;

// A fraction of the prompt in [0, 1], given as a number or "P%" (methods whose reference defines
// its budgets as ratios only, e.g. yakv_gpu). `param` names the key in errors.
double parse_budget_fraction(const nlohmann::json& value, const std::string& param);

// A budget parameter: type kBudget, checked at config time by TokenBudget::parse (or, with
// `fractions_only`, parse_budget_fraction); `role` is one of budget_roles().
ParamSpec budget_param(const std::string& name, const nlohmann::json& default_value, const std::string& help,
                       const std::string& role, bool fractions_only = false);

// `spec` (a token or chunk count that sets one part of the budget) with its role.
inline ParamSpec with_budget_role(ParamSpec spec, const std::string& role) {
  spec.budget_role = role;
  return spec;
}

}  // namespace kvbench
