// SPDX-License-Identifier: Apache-2.0
// TokenBudget: a method budget given either as a fraction of the prompt or as absolute tokens, and
// resolved to a token count per prompt. Config values: a number in (0, 1) or a string "3.125%" is a
// fraction of the prompt length; an integer >= 1 (or "2048") is tokens; 0 means none.
// Resolution: fraction -> floor(fraction * prompt_tokens) (methods apply their own rounding to
// chunk/page multiples on top and record the result), tokens -> min(tokens, prompt_tokens) unless
// the caller asks for the unclamped value.
#pragma once

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

}  // namespace kvbench
