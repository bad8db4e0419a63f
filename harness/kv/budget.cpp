// SPDX-License-Identifier: Apache-2.0
// TokenBudget parsing and resolution (harness/kv/budget.h). Accepted config values:
//   number in (0, 1)        fraction of the prompt             0.03125
//   integral number >= 0    tokens (0 = none)                  2048, 2048.0
//   "P%" with P in [0, 100] fraction P/100 of the prompt       "3.125%"
//   a string holding a number: read as that number            "2048", "0.5"
// Anything else (negative, non-integral >= 1, NaN, other types, trailing junk) is a config Error
// whose message starts with the parameter's name.
#include "harness/kv/budget.h"

#include "harness/error.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace kvbench {
namespace {

// Parses the whole of `text` (surrounding spaces allowed) as a finite number.
bool parse_number(const std::string& text, double& out) {
  const char* begin = text.c_str();
  char* end = nullptr;
  out = std::strtod(begin, &end);
  if (end == begin) return false;
  while (*end == ' ' || *end == '\t') ++end;
  return *end == '\0' && std::isfinite(out);
}

TokenBudget from_number(double value, const std::string& param, const std::string& shown) {
  KVBENCH_CHECK_CONFIG(std::isfinite(value) && value >= 0, param, ": budget ", shown, " is negative or not finite; ",
                       kBudgetForms);
  TokenBudget b;
  if (value > 0 && value < 1) {
    b.is_fraction = true;
    b.fraction = value;
    return b;
  }
  KVBENCH_CHECK_CONFIG(value == std::floor(value) && value < 9.0e15, param, ": budget ", shown,
                       " is neither a fraction in (0, 1) nor a whole number of tokens; ", kBudgetForms);
  b.tokens = static_cast<int64_t>(value);
  return b;
}

}  // namespace

const char* const kBudgetForms =
    "accepted: a token count >= 0 (2048 or \"2048\"), a fraction of the prompt in (0, 1) (0.03125) or a "
    "percentage \"P%\" with P in [0, 100] (\"3.125%\")";
const char* const kFractionBudgetForms =
    "accepted: a fraction of the prompt in [0, 1] (0.03125) or a percentage \"P%\" with P in [0, 100] "
    "(\"3.125%\")";

TokenBudget TokenBudget::parse(const nlohmann::json& value, const std::string& param) {
  if (value.is_number_integer() || value.is_number_unsigned()) {
    KVBENCH_CHECK_CONFIG(!value.is_number_integer() || value.get<int64_t>() >= 0, param, ": budget ",
                         value.dump(), " must not be negative; ", kBudgetForms);
    return from_number(value.get<double>(), param, value.dump());
  }
  if (value.is_number_float()) return from_number(value.get<double>(), param, value.dump());
  KVBENCH_CHECK_CONFIG(value.is_string(), param, ": budget must be a number or a string, got ", value.dump(), "; ",
                       kBudgetForms);
  std::string text = value.get<std::string>();
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  double number = 0;
  if (!text.empty() && text.back() == '%') {
    const std::string digits = text.substr(0, text.size() - 1);
    KVBENCH_CHECK_CONFIG(parse_number(digits, number) && number >= 0 && number <= 100, param, ": budget ",
                         value.dump(), " is not a percentage in [0%, 100%]; ", kBudgetForms);
    TokenBudget b;
    if (number > 0) {
      b.is_fraction = true;
      b.fraction = number / 100.0;
    }
    return b;
  }
  KVBENCH_CHECK_CONFIG(parse_number(text, number), param, ": budget ", value.dump(),
                       " is not a number, a percentage or a token count; ", kBudgetForms);
  return from_number(number, param, value.dump());
}

int64_t TokenBudget::resolve(int64_t prompt_tokens, bool clamp_to_prompt) const {
  KVBENCH_ASSERT(prompt_tokens >= 0, "negative prompt length ", prompt_tokens);
  if (is_fraction) {
    // The small epsilon keeps exact products (0.03125 * 4096 = 128) from rounding down to 127.
    return static_cast<int64_t>(std::floor(fraction * static_cast<double>(prompt_tokens) + 1e-9));
  }
  return clamp_to_prompt ? std::min(tokens, prompt_tokens) : tokens;
}

std::string TokenBudget::describe() const {
  std::ostringstream out;
  if (is_fraction) {
    out << fraction * 100 << "%";
  } else {
    out << tokens << " tokens";
  }
  return out.str();
}

double parse_budget_fraction(const nlohmann::json& value, const std::string& param) {
  double number = 0;
  if (value.is_number() && !value.is_boolean()) {
    number = value.get<double>();
  } else if (value.is_string()) {
    std::string text = value.get<std::string>();
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
    KVBENCH_CHECK_CONFIG(!text.empty() && text.back() == '%' && parse_number(text.substr(0, text.size() - 1), number),
                         param, ": budget ", value.dump(), " is not a fraction of the prompt; ", kFractionBudgetForms);
    number /= 100.0;
  } else {
    KVBENCH_FAIL(ErrorKind::kConfig, param, ": budget must be a number or a string, got ", value.dump(), "; ",
                 kFractionBudgetForms);
  }
  KVBENCH_CHECK_CONFIG(std::isfinite(number) && number >= 0 && number <= 1, param, ": budget ", value.dump(),
                       " is not a fraction of the prompt in [0, 1]; ", kFractionBudgetForms);
  return number;
}

ParamSpec budget_param(const std::string& name, const nlohmann::json& default_value, const std::string& help,
                       const std::string& role, bool fractions_only) {
  ParamSpec spec;
  spec.name = name;
  spec.type = ParamType::kBudget;
  spec.default_value = default_value;
  spec.help = help;
  spec.budget_role = role;
  if (fractions_only) {
    spec.check = [](const nlohmann::json& v, const std::string& path) { parse_budget_fraction(v, path); };
  } else {
    spec.check = [](const nlohmann::json& v, const std::string& path) { TokenBudget::parse(v, path); };
  }
  return spec;
}

}  // namespace kvbench
