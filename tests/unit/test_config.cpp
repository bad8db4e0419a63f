// SPDX-License-Identifier: Apache-2.0
// Config documents, validation errors (file:line:column, key path, suggestion), layering and sweeps.
#include "harness/config_document.h"
#include "harness/error.h"
#include "harness/run/run_config.h"
#include "harness/run/sweep.h"
#include "tests/support/test_components.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace kvbench {
namespace {

std::filesystem::path scratch(const std::string& name) {
  const char* tmp = std::getenv("KVBENCH_TEST_TMP");
  std::filesystem::path dir = std::filesystem::path(tmp ? tmp : "/tmp") / "test_config";
  std::filesystem::create_directories(dir);
  return dir / name;
}

std::filesystem::path write(const std::string& name, const std::string& text) {
  auto path = scratch(name);
  std::ofstream(path) << text;
  return path;
}

std::string config_error(const std::string& name, const std::string& text,
                         const std::vector<std::string>& overrides = {}) {
  try {
    load_runs(write(name, text).string(), overrides);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  ADD_FAILURE() << "no error for " << name;
  return "";
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::register_test_components(); }
};

const char* kBase =
    "model:\n"
    "  path: /models/tiny\n"
    "  dtype: float32\n"
    "method:\n"
    "  name: test.method\n"
    "  params:\n"
    "    budget_tokens: 128\n"
    "task:\n"
    "  name: test.counting\n"
    "  limit: 5\n";

TEST_F(ConfigTest, DefaultsFilesAndOverridesLayer) {
  auto runs = load_runs(write("base.yaml", kBase).string(), {"method.params.window=4"});
  ASSERT_EQ(runs.size(), 1u);
  const auto& r = runs[0].resolved;
  EXPECT_EQ(r["model"]["dtype"], "float32");                  // file
  EXPECT_EQ(r["model"]["device"], "auto");                    // built-in default
  EXPECT_EQ(r["model"]["name"], "tiny");                      // derived
  EXPECT_EQ(r["method"]["params"]["budget_tokens"], 128);     // file
  EXPECT_EQ(r["method"]["params"]["window"], 4);              // --set
  EXPECT_EQ(r["task"]["protocol"], "test.default");           // task default
  EXPECT_EQ(r["task"]["params"]["count"], 12);                // task param default
  EXPECT_EQ(r["generation"]["prefill_chunk"], 0);
  EXPECT_EQ(run_label(r), "test.counting/test.default/tiny/test.method/budget_tokens128");
}

TEST_F(ConfigTest, JsonAndYamlGiveTheSameConfig) {
  auto yaml = load_runs(write("same.yaml", kBase).string(), {});
  auto json = load_runs(
      write("same.json",
            R"({"model": {"path": "/models/tiny", "dtype": "float32"},
                "method": {"name": "test.method", "params": {"budget_tokens": 128}},
                "task": {"name": "test.counting", "limit": 5}})")
          .string(),
      {});
  EXPECT_EQ(yaml[0].resolved, json[0].resolved);
  EXPECT_EQ(run_hash(yaml[0].resolved, "d"), run_hash(json[0].resolved, "d"));
}

TEST_F(ConfigTest, IncludeLayersUnderTheIncludingFile) {
  write("inc_base.yaml", kBase);
  auto runs = load_runs(write("inc_top.yaml", "include: inc_base.yaml\nmodel:\n  dtype: bfloat16\n").string(), {});
  EXPECT_EQ(runs[0].resolved["model"]["dtype"], "bfloat16");
  EXPECT_EQ(runs[0].resolved["model"]["path"], "/models/tiny");
  std::string msg = config_error("inc_cycle.yaml", "include: inc_cycle.yaml\n");
  EXPECT_NE(msg.find("include cycle"), std::string::npos) << msg;
}

TEST_F(ConfigTest, MisspelledKeyNamesFileLineColumnAndSuggestion) {
  std::string text = kBase;
  text += "generation:\n  max_new_tokns: 32\n";
  std::string msg = config_error("typo.yaml", text);
  EXPECT_NE(msg.find("typo.yaml:12:3: unknown key 'generation.max_new_tokns' (did you mean "
                     "'generation.max_new_tokens'?)"),
            std::string::npos)
      << msg;
  msg = config_error("typo_top.yaml", std::string(kBase) + "metod:\n  name: full\n");
  EXPECT_NE(msg.find("typo_top.yaml:11:1: unknown key 'metod' (did you mean 'method'?)"),
            std::string::npos) << msg;
  msg = config_error("typo_param.yaml", std::string(kBase) + "", {"method.params.windw=3"});
  EXPECT_NE(msg.find("--set method.params.windw=3: unknown key 'method.params.windw' (did you mean "
                     "'method.params.window'?)"),
            std::string::npos) << msg;
  msg = config_error("typo_method.yaml", "task: {name: test.counting}\nmethod: {name: test.methd}\n");
  EXPECT_NE(msg.find("typo_method.yaml:2:10: method.name: unknown method 'test.methd' (did you mean "
                     "'test.method'?)"),
            std::string::npos) << msg;
}

TEST_F(ConfigTest, WrongTypeNamesKeyAndExpectedType) {
  std::string msg = config_error("type.yaml", std::string(kBase) + "generation:\n  max_new_tokens: lots\n");
  EXPECT_NE(msg.find("type.yaml:12:3: generation.max_new_tokens: expected an integer, got \"lots\""),
            std::string::npos) << msg;
  msg = config_error("type2.yaml", std::string(kBase) + "generation:\n  stop: \"\\n\"\n");
  EXPECT_NE(msg.find("generation.stop: expected a list of strings"), std::string::npos) << msg;
}

TEST_F(ConfigTest, OutOfRangeValueNamesAllowedRange) {
  std::string msg = config_error("range.yaml", kBase, {"task.limit=0"});
  EXPECT_NE(msg.find("--set task.limit=0: task.limit: value 0 is out of range; allowed: >= 1"),
            std::string::npos) << msg;
  msg = config_error("range2.yaml", kBase, {"model.dtype=fp8"});
  EXPECT_NE(msg.find("model.dtype: 'fp8' is not one of {float32, bfloat16, float16}"),
            std::string::npos) << msg;
  msg = config_error("range3.yaml", kBase, {"task.protocol=test.othr"});
  EXPECT_NE(msg.find("'test.othr' is not a protocol of task test.counting (did you mean "
                     "'test.other'?)"),
            std::string::npos) << msg;
}

TEST_F(ConfigTest, YamlSyntaxErrorAndDuplicateKeyArePositioned) {
  std::string msg = config_error("syntax.yaml", "task:\n  name: [unclosed\n");
  EXPECT_NE(msg.find("syntax.yaml:"), std::string::npos) << msg;
  msg = config_error("dup.yaml", "task:\n  name: a\n  name: b\n");
  EXPECT_NE(msg.find("dup.yaml:3:3: duplicate key 'task.name' (first written at "), std::string::npos) << msg;
  EXPECT_NE(msg.find("dup.yaml:2:3)"),
            std::string::npos) << msg;
  msg = config_error("bad.json", "{\"task\": {\"name\": \"x\",}}");
  EXPECT_NE(msg.find("bad.json: invalid JSON at byte"), std::string::npos) << msg;
}

// Found by tests/fuzz (fuzz_config): a number beyond a double's range escaped as nlohmann's
// out_of_range (JSON) or std::out_of_range from stod (YAML) instead of a positioned config error.
TEST_F(ConfigTest, NumberOutsideDoubleRangeIsAConfigError) {
  std::string msg = config_error("big.json", "{\"task\": {\"limit\": 6666666e66666666666666}}");
  EXPECT_NE(msg.find("big.json: invalid JSON: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("number overflow"), std::string::npos) << msg;
  msg = config_error("big.yaml", "task:\n  limit: 1e999\n");
  EXPECT_NE(msg.find("big.yaml:2:10: the number 1e999 is outside the range of a 64-bit float"),
            std::string::npos) << msg;
  msg = config_error("big2.yaml", std::string(kBase), {"task.limit=-1e400"});
  EXPECT_NE(msg.find("the number -1e400 is outside the range of a 64-bit float"), std::string::npos) << msg;
}

TEST_F(ConfigTest, SweepGridTimesZip) {
  std::string text = std::string(kBase) +
                     "sweep:\n"
                     "  grid:\n"
                     "    task.protocol: [test.default, test.other]\n"
                     "    method.params.window: [0, 4, 16]\n"
                     "  zip:\n"
                     "    method.params.budget_tokens: [32, 64]\n"
                     "    generation.max_new_tokens: [8, 16]\n";
  auto runs = load_runs(write("sweep.yaml", text).string(), {});
  ASSERT_EQ(runs.size(), 2u * 3u * 2u);
  std::set<std::string> hashes;
  for (const auto& r : runs) hashes.insert(run_hash(r.resolved, "d"));
  EXPECT_EQ(hashes.size(), runs.size());
  // Axes in key-path order, the last grid axis (task.protocol) fastest; zip axes move together.
  EXPECT_EQ(runs[0].axes["method.params.window"], 0);
  EXPECT_EQ(runs[0].axes["method.params.budget_tokens"], 32);
  EXPECT_EQ(runs[0].resolved["generation"]["max_new_tokens"], 8);
  EXPECT_EQ(runs[1].axes["method.params.budget_tokens"], 64);
  EXPECT_EQ(runs[1].resolved["generation"]["max_new_tokens"], 16);
  EXPECT_EQ(runs[2].axes["task.protocol"], "test.other");
  EXPECT_EQ(runs[2].axes["method.params.window"], 0);
  EXPECT_EQ(runs[4].axes["method.params.window"], 4);
  EXPECT_EQ(runs[4].resolved["task"]["protocol"], "test.default");
  std::string msg = config_error("zip_bad.yaml", std::string(kBase) +
                                                     "sweep:\n  zip:\n    task.limit: [1, 2]\n"
                                                     "    seed: [1]\n");
  EXPECT_NE(msg.find("zip axes must have equal lengths"), std::string::npos) << msg;
  // A sweep value is validated like a file value, and located at the sweep entry.
  msg = config_error("sweep_bad.yaml", std::string(kBase) + "sweep:\n  grid:\n    task.limit: [1, -1]\n");
  EXPECT_NE(msg.find("sweep_bad.yaml:13:5: task.limit: value -1 is out of range"), std::string::npos)
      << msg;
}

TEST_F(ConfigTest, SweepOfMoreThanTheRunLimitIsRefusedNamingTheAxis) {
  // 20 axes of 10 values: 10^20 runs, which also overflows a 64-bit count. Refused before any
  // cell is built, at the axis that passes kMaxSweepCells.
  std::string text = std::string(kBase) + "sweep:\n  grid:\n";
  for (int axis = 0; axis < 20; ++axis)
    text += "    task.params.a" + std::to_string(10 + axis) + ": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n";
  std::string msg = config_error("sweep_huge.yaml", text);
  EXPECT_NE(msg.find("sweep_huge.yaml:18:5: sweep.grid.task.params.a15: the sweep expands to more than 100000 runs"),
            std::string::npos) << msg;
  msg = config_error("sweep_huge_zip.yaml", std::string(kBase) + "sweep:\n  grid:\n    seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
                                                              "    task.limit: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                                                              "    method.params.window: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
                                                              "    method.params.budget_tokens: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                                                              "  zip:\n    generation.max_new_tokens: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n");
  EXPECT_NE(msg.find("the sweep expands to more than 100000 runs"), std::string::npos) << msg;
}

TEST_F(ConfigTest, IdentityIgnoresOutputAndSampleSelection) {
  auto a = load_runs(write("id.yaml", kBase).string(), {"output.dir=/x", "task.limit=3"});
  auto b = load_runs(write("id.yaml", kBase).string(), {"output.dir=/y", "task.limit=9"});
  EXPECT_EQ(run_hash(a[0].resolved, "d"), run_hash(b[0].resolved, "d"));
  EXPECT_NE(run_hash(a[0].resolved, "d"), run_hash(a[0].resolved, "e"));  // dataset changes it
  auto c = load_runs(write("id.yaml", kBase).string(), {"seed=7"});
  EXPECT_NE(run_hash(a[0].resolved, "d"), run_hash(c[0].resolved, "d"));
}

TEST_F(ConfigTest, PerStepAccountingIsABooleanOutsideTheHash) {
  auto off = load_runs(write("steps.yaml", kBase).string(), {});
  EXPECT_EQ(off[0].resolved["output"]["per_step_accounting"], false);
  auto on = load_runs(write("steps.yaml", kBase).string(), {"output.per_step_accounting=true"});
  EXPECT_EQ(on[0].resolved["output"]["per_step_accounting"], true);
  EXPECT_EQ(run_hash(off[0].resolved, "d"), run_hash(on[0].resolved, "d"));  // recording, not running
  std::string msg = config_error("steps_bad.yaml", std::string(kBase) + "output:\n  per_step_accounting: 3\n");
  EXPECT_NE(msg.find("output.per_step_accounting"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a boolean"), std::string::npos) << msg;
}

TEST_F(ConfigTest, MaxWeightBytesIsANullableLimitOutsideTheHash) {
  auto none = load_runs(write("weights.yaml", kBase).string(), {});
  EXPECT_TRUE(none[0].resolved["model"]["max_weight_bytes"].is_null());
  auto limited = load_runs(write("weights.yaml", kBase).string(), {"model.max_weight_bytes=8000000000"});
  EXPECT_EQ(limited[0].resolved["model"]["max_weight_bytes"], 8000000000LL);
  EXPECT_EQ(run_hash(none[0].resolved, "d"), run_hash(limited[0].resolved, "d"));  // may it start, not what it computes
  std::string msg = config_error("weights_bad.yaml", kBase, {"model.max_weight_bytes=-1"});
  EXPECT_NE(msg.find("model.max_weight_bytes"), std::string::npos) << msg;
}

TEST_F(ConfigTest, EnvironmentExpansion) {
  ::setenv("KVBENCH_TEST_MODELS", "/opt/m", 1);
  EXPECT_EQ(expand_env("${KVBENCH_TEST_MODELS}/tiny"), "/opt/m/tiny");
  EXPECT_EQ(expand_env("${KVBENCH_UNSET_VAR_X:-/fallback}/a"), "/fallback/a");
  EXPECT_THROW(expand_env("${KVBENCH_UNSET_VAR_X}"), Error);
}

}  // namespace
}  // namespace kvbench
