// SPDX-License-Identifier: Apache-2.0
#include "harness/params.h"

#include "harness/error.h"
#include "harness/kv/budget.h"

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

// ParamType::kBudget: the budget parser runs at config time; numbers are stored as doubles (as
// kFloat, so existing run hashes stay), strings as written; errors carry the location, the key and
// the accepted forms.
TEST(Params, BudgetParamsAreParsedAtConfigTime) {
  ParamSpecs specs = {budget_param("sparse_budget", 2048, "selected tokens", "selected"),
                      budget_param("prefix_budget", 0.5, "sink fraction", "sink", /*fractions_only=*/true),
                      with_budget_role({"outlier_chunks", ParamType::kInt, 48, "outliers", 0.0}, "outliers")};
  auto locate = [](const std::string&) { return std::string("cfg.yaml:7:3"); };
  for (const nlohmann::json& ok : {nlohmann::json(2048), nlohmann::json(0.03125), nlohmann::json("3.125%"),
                                   nlohmann::json("2048"), nlohmann::json(0)}) {
    nlohmann::json out = resolve_params(specs, {{"sparse_budget", ok}}, "method.params", locate);
    EXPECT_EQ(out["sparse_budget"], ok.is_string() ? ok : nlohmann::json(ok.get<double>())) << ok;
  }
  EXPECT_EQ(resolve_params(specs, {{"prefix_budget", "0.625%"}}, "method.params", locate)["prefix_budget"], "0.625%");
  auto error = [&](const nlohmann::json& given) {
    try {
      resolve_params(specs, given, "method.params", locate);
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
      return std::string(e.what());
    }
    return std::string();
  };
  for (const nlohmann::json& bad : {nlohmann::json({{"sparse_budget", "3.1x%"}}), nlohmann::json({{"sparse_budget", -1}}),
                                    nlohmann::json({{"sparse_budget", 2.5}}), nlohmann::json({{"sparse_budget", "150%"}}),
                                    nlohmann::json({{"sparse_budget", true}}), nlohmann::json({{"prefix_budget", 2048}}),
                                    nlohmann::json({{"prefix_budget", "2048"}})}) {
    std::string msg = error(bad);
    const std::string key = bad.begin().key();
    EXPECT_EQ(msg.rfind("cfg.yaml:7:3: method.params." + key + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("\"3.125%\""), std::string::npos) << msg;  // the accepted forms are listed
  }
  nlohmann::json roles = budget_by_role(specs, resolve_params(specs, {{"sparse_budget", "3.125%"}}, "m", locate));
  EXPECT_EQ(roles, nlohmann::json({{"selected", {{"param", "sparse_budget"}, {"value", "3.125%"}}},
                                   {"sink", {{"param", "prefix_budget"}, {"value", 0.5}}},
                                   {"outliers", {{"param", "outlier_chunks"}, {"value", 48}}}}));
  for (const auto& spec : specs) {
    EXPECT_NE(std::find(budget_roles().begin(), budget_roles().end(), spec.budget_role), budget_roles().end());
  }
}

}  // namespace
}  // namespace kvbench
