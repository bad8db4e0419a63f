// SPDX-License-Identifier: Apache-2.0
// Run identity (issue 19): the run hash follows the model folder's structure (config.json +
// safetensors headers), not its path, so a moved folder keeps its runs; resuming a run whose
// recorded weights or code version differ is an input error naming both, unless
// allow_version_mix; every sample row records the code version and env.json keeps each start.
#include "harness/error.h"
#include "harness/run/model_identity.h"
#include "harness/run/run_config.h"
#include "harness/run/runner.h"
#include "tests/model/cpp_checkpoint.h"
#include "tests/support/test_components.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

namespace kvbench {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

RunConfig make_run(const std::string& model, const std::filesystem::path& out, int limit) {
  testing::register_test_components();
  ConfigDocument doc = parse_config_text(
      "model: {name: tiny}\nmethod: {name: test.method}\ntask: {name: test.counting}\n", "inline");
  set_key_path(doc, "model.path", model, "test");
  set_key_path(doc, "task.params.count", 6, "test");
  set_key_path(doc, "task.limit", limit, "test");
  set_key_path(doc, "output.dir", out.string(), "test");
  return resolve_run_config(doc);
}

RunOutcome run(const std::string& model, const std::filesystem::path& out, int limit, bool allow_mix = false) {
  RunPlan plan = plan_run(make_run(model, out, limit));
  testing::ArithmeticEngine engine;
  RunOptions options;
  options.progress = false;
  options.allow_version_mix = allow_mix;
  return execute_run(plan, engine, options);
}

json read(const std::filesystem::path& path) { return json::parse(std::ifstream(path)); }

TEST(RunIdentity, MovedFolderKeepsTheHashChangedWeightsOrVersionRefuseToResume) {
  const std::string base = test::tmp_dir();
  const std::string model = test::write_model("identity_a", test::tiny_llama_config());
  const std::filesystem::path out = base + "/identity_runs";
  ASSERT_EQ(std::system(("rm -rf '" + out.string() + "' '" + base + "/identity_moved'").c_str()), 0);

  RunOutcome first = run(model, out, 2);
  ASSERT_EQ(first.status, "complete");
  const json config = read(first.dir / "config.json");
  EXPECT_EQ(config["run"]["code_version"], code_version());
  EXPECT_EQ(config["run"]["weights_sha256"], model_weights_sha256(model));
  std::ifstream rows(first.dir / "samples.jsonl");
  for (std::string line; std::getline(rows, line);)
    EXPECT_EQ(json::parse(line)["kvbench_version"], code_version()) << line;

  // Moved folder: same structure, same hash, same directory; resuming works.
  const std::string moved = base + "/identity_moved";
  ASSERT_EQ(std::system(("cp -r '" + model + "' '" + moved + "'").c_str()), 0);
  EXPECT_EQ(plan_run(make_run(moved, out, 3)).hash, plan_run(make_run(model, out, 3)).hash);
  RunOutcome resumed = run(moved, out, 3);
  EXPECT_EQ(resumed.dir, first.dir);
  EXPECT_EQ(resumed.skipped, 2u);
  EXPECT_EQ(read(first.dir / "env.json")["history"].size(), 1u);

  // Other weights under the same structure (another fine-tune): same directory, resume refused.
  test::write_model("identity_moved", test::tiny_llama_config(), [](std::vector<test::NamedTensor>& t) {
    for (auto& x : t) x.tensor = x.tensor * 1.5;
  });
  EXPECT_EQ(plan_run(make_run(moved, out, 4)).dir, first.dir);
  ErrorKind kind{};
  const std::string message = [&] {
    try {
      run(moved, out, 4);
    } catch (const Error& e) {
      kind = e.kind();
      return std::string(e.what());
    }
    return std::string("no error");
  }();
  EXPECT_EQ(kind, ErrorKind::kInput);
  EXPECT_THAT(message, AllOf(HasSubstr("config.json"), HasSubstr("3 recorded samples"), HasSubstr("with weights"),
                             HasSubstr("--allow-version-mix")));
  // Allowed: it resumes, and the history holds every start.
  RunOutcome mixed = run(moved, out, 4, /*allow_mix=*/true);
  EXPECT_EQ(mixed.skipped, 3u);
  EXPECT_EQ(read(first.dir / "env.json")["history"].size(), 2u);

  // Another code version recorded in the run: refused the same way.
  json recorded = read(first.dir / "config.json");
  recorded["run"]["code_version"] = "0.0.1+0123456789ab";
  std::ofstream(first.dir / "config.json") << recorded.dump();
  try {
    run(moved, out, 5);
    ADD_FAILURE() << "resuming another code version's run did not fail";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("kvbench 0.0.1+0123456789ab"), HasSubstr(code_version())));
  }
}

}  // namespace
}  // namespace kvbench

namespace kvbench {
namespace {

// Two processes on one run (issue 19): the second finds the lock taken, fails with kBusy and leaves
// every file of the run as the first writes it (run.json is never overwritten with "failed").
TEST(RunIdentity, ASecondProcessOnALockedRunLeavesItUntouched) {
  const std::filesystem::path out = test::tmp_dir() + "/identity_busy";
  ASSERT_EQ(std::system(("rm -rf '" + out.string() + "'").c_str()), 0);
  const std::string model = test::write_model("identity_busy_model", test::tiny_llama_config());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The first process: takes the lock, then writes its samples slowly.
    RunPlan plan = plan_run(make_run(model, out, 6));
    testing::ArithmeticEngine slow(std::chrono::milliseconds(300));
    RunOptions options;
    options.progress = false;
    (void)::write(ready[1], "x", 1);
    execute_run(plan, slow, options);
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  RunPlan plan = plan_run(make_run(model, out, 6));
  // Wait until the first process has written run.json ("running").
  for (int i = 0; i < 200 && !std::filesystem::exists(plan.dir / "run.json"); ++i) ::usleep(20000);
  ASSERT_TRUE(std::filesystem::exists(plan.dir / "run.json"));
  ErrorKind kind{};
  try {
    run(model, out, 6);
  } catch (const Error& e) {
    kind = e.kind();
  }
  EXPECT_EQ(kind, ErrorKind::kBusy);
  EXPECT_EQ(read(plan.dir / "run.json")["status"], "running");
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(read(plan.dir / "run.json")["status"], "complete");
}

}  // namespace
}  // namespace kvbench
