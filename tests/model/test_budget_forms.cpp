// SPDX-License-Identifier: Apache-2.0
// Budget parameters (ParamType::kBudget, harness/kv/budget.h) end to end through `kvbench`: the
// documented forms validate at config time and run ("3.125%" for the sparse budgets of quest,
// shadowkv, yakv and yakv_gpu, on the tiny Qwen3 chat model over one LongBench multi_news sample),
// metrics.json carries the budget by role (so reports never parse the run label), and a bad budget
// is a config error (exit 2) that names the key, its file:line and the accepted forms.
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::env;
using test::run_command;
using test::tiny_chat_model;

std::string base_config(const fs::path& model, const fs::path& out) {
  return test::multi_news_yaml(model, 400, /*limit=*/1) +
         "generation: {max_new_tokens: 2}\n"
         "output: {dir: " + out.string() + "}\n";
}

TEST(BudgetForms, PercentBudgetsValidateRunAndReachMetricsJson) {
  const fs::path root = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "budget_forms";
  ASSERT_TRUE(test::recreate_dir(root));
  std::ofstream(root / "sweep.yaml") << base_config(tiny_chat_model(), root / "runs")
      << "sweep:\n"
         "  zip:\n"
         "    method:\n"
         "      - {name: quest, params: {token_budget: '3.125%'}}\n"
         "      - {name: shadowkv, params: {sparse_budget: '3.125%'}}\n"
         "      - {name: yakv, params: {sparse_budget: '3.125%', local_budget: '2048'}}\n"
         "      - {name: yakv_gpu, params: {sparse_budget: '1.5625%'}}\n";
  const std::string kvbench = env("KVBENCH_BINARY", "kvbench");
  test::CommandResult r = run_command(kvbench + " run '" + (root / "sweep.yaml").string() + "' --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  int runs = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root / "runs")) {
    if (entry.path().filename() != "metrics.json") continue;
    ++runs;
    std::ifstream in(entry.path());
    json metrics = json::parse(in);
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(metrics["n_samples"]["errors"], 0);
    const std::string method = metrics["run"]["method"];
    const json& selected = metrics["budget"]["roles"]["selected"];
    EXPECT_EQ(selected["value"], method == "yakv_gpu" ? "1.5625%" : "3.125%");
    EXPECT_TRUE(metrics["budget"]["tokens_mean"].contains("selected")) << metrics["budget"];
    const std::string label = metrics["budget"]["label"];
    EXPECT_NE(label.find(selected["param"].get<std::string>()), std::string::npos) << label;
  }
  EXPECT_EQ(runs, 4);
}

TEST(BudgetForms, BadBudgetNamesTheKeyAndTheAcceptedForms) {
  const fs::path root = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "budget_forms_bad";
  ASSERT_TRUE(test::recreate_dir(root));
  const std::string kvbench = env("KVBENCH_BINARY", "kvbench");
  struct Case {
    std::string method, key, value;
  };
  for (const Case& c : {Case{"shadowkv", "sparse_budget", "'3.1x%'"}, Case{"quest", "token_budget", "-5"},
                        Case{"yakv", "local_budget", "'150%'"}, Case{"yakv_gpu", "sparse_budget", "2048"}}) {
    std::ofstream(root / "bad.yaml") << base_config("/nonexistent", root / "runs") << "method:\n  name: "
                                     << c.method << "\n  params:\n    " << c.key << ": " << c.value << "\n";
    test::CommandResult r = run_command(kvbench + " validate '" + (root / "bad.yaml").string() + "'");
    SCOPED_TRACE(c.method + "." + c.key + "=" + c.value);
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("method.params." + c.key), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("bad.yaml:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("accepted:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"3.125%\""), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace kvbench
