// SPDX-License-Identifier: Apache-2.0
#include "harness/params.h"

#include "harness/error.h"

#include <gtest/gtest.h>

namespace kvbench {
namespace {

ParamSpecs example_specs() {
  return {
      {"budget_tokens", ParamType::kInt, 2048, "tokens kept", 1.0, std::nullopt, {}, false, true},
      {"ratio", ParamType::kFloat, 0.5, "fraction", 0.0, 1.0},
      {"pooling", ParamType::kString, "max", "pooling", std::nullopt, std::nullopt, {"max", "avg"}},
      {"layers", ParamType::kIntList, nlohmann::json::array(), "dense layers", 0.0},
  };
}

std::string error_of(const nlohmann::json& given) {
  try {
    resolve_params(example_specs(), given, "method.params",
                   [](const std::string& path) { return "cfg.yaml:3:5"; });
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  return "";
}

TEST(Params, FillsDefaultsAndKeepsGivenValues) {
  auto out = resolve_params(example_specs(), {{"ratio", 1}}, "method.params", nullptr);
  EXPECT_EQ(out["budget_tokens"], 2048);
  EXPECT_DOUBLE_EQ(out["ratio"].get<double>(), 1.0);
  EXPECT_TRUE(out["ratio"].is_number_float());
  EXPECT_EQ(out["pooling"], "max");
}

TEST(Params, UnknownKeySuggestsClosest) {
  std::string msg = error_of({{"budget_tokns", 5}});
  EXPECT_NE(msg.find("cfg.yaml:3:5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'method.params.budget_tokns'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'method.params.budget_tokens'"), std::string::npos) << msg;
}

TEST(Params, WrongTypeNamesKeyAndExpectedType) {
  std::string msg = error_of({{"budget_tokens", "many"}});
  EXPECT_NE(msg.find("method.params.budget_tokens: expected an integer"), std::string::npos) << msg;
  msg = error_of({{"layers", {1, "x"}}});
  EXPECT_NE(msg.find("method.params.layers[1]: expected an integer"), std::string::npos) << msg;
}

TEST(Params, OutOfRangeNamesAllowedRange) {
  std::string msg = error_of({{"ratio", 1.5}});
  EXPECT_NE(msg.find("method.params.ratio: value 1.5 is out of range; allowed: [0, 1]"),
            std::string::npos) << msg;
  msg = error_of({{"pooling", "mx"}});
  EXPECT_NE(msg.find("'mx' is not one of {max, avg} (did you mean 'max'?)"), std::string::npos)
      << msg;
}

TEST(Params, NullableAcceptsNull) {
  auto out = resolve_params(example_specs(), {{"budget_tokens", nullptr}}, "p", nullptr);
  EXPECT_TRUE(out["budget_tokens"].is_null());
}

TEST(Params, ClosestMatchRejectsFarWords) {
  EXPECT_EQ(closest_match("methd", {"method", "model"}), "method");
  EXPECT_EQ(closest_match("zzzzzzzz", {"method", "model"}), "");
}

}  // namespace
}  // namespace kvbench
