// SPDX-License-Identifier: Apache-2.0
// The run store never loses or duplicates a sample: SIGKILL at many points then re-run gives every
// sample exactly once and the same metrics as an uninterrupted run; a torn last line is redone;
// failing samples become error rows and the run continues (status partial). The soak test does the
// same to a whole sweep: SIGKILL at 20 seeded moments, resumed each time.
#include "harness/run/run_config.h"
#include "harness/run/run_store.h"
#include "harness/run/runner.h"
#include "harness/run/sweep.h"
#include "tests/support/test_components.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <numeric>
#include <map>
#include <random>

namespace kvbench {
namespace {

using nlohmann::json;

std::filesystem::path scratch(const std::string& name) {
  const char* tmp = std::getenv("KVBENCH_TEST_TMP");
  std::filesystem::path dir = std::filesystem::path(tmp ? tmp : "/tmp") / "test_resume" / name;
  // Not std::filesystem::remove_all: the copy libtorch.so exports crashes in binaries linking it.
  KVBENCH_ASSERT(std::system(("rm -rf '" + dir.string() + "'").c_str()) == 0, "rm -rf ", dir);
  std::filesystem::create_directories(dir);
  return dir;
}

RunConfig make_run(const std::filesystem::path& out, int count) {
  testing::register_test_components();
  ConfigDocument doc = parse_config_text(
      "model: {path: /nonexistent/tiny}\nmethod: {name: test.method}\ntask: {name: test.counting}\n",
      "inline");
  set_key_path(doc, "task.params.count", count, "test");
  set_key_path(doc, "output.dir", out.string(), "test");
  return resolve_run_config(doc);
}

std::vector<json> read_rows(const std::filesystem::path& dir) {
  std::vector<json> rows;
  std::ifstream in(dir / "samples.jsonl");
  std::string line;
  while (std::getline(in, line)) rows.push_back(json::parse(line));
  return rows;
}

json deterministic_part(const json& metrics) {
  return {{"scores", metrics["scores"]}, {"buckets", metrics["buckets"]},
          {"n_samples", metrics["n_samples"]}};
}

RunOptions quiet() {
  RunOptions o;
  o.progress = false;
  return o;
}

TEST(Resume, SigkillAtManyPointsLosesAndDuplicatesNothing) {
  const int kCount = 40;
  // Reference: an uninterrupted run.
  RunPlan reference = plan_run(make_run(scratch("reference"), kCount));
  testing::ArithmeticEngine fast;
  RunOutcome expected = execute_run(reference, fast, quiet());
  ASSERT_EQ(expected.status, "complete");

  std::filesystem::path out = scratch("killed");
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> delay_us(1000, 120000);
  int kills = 0;
  for (int attempt = 0; attempt < 12; ++attempt) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      RunPlan plan = plan_run(make_run(out, kCount));
      testing::ArithmeticEngine slow(std::chrono::milliseconds(4));
      execute_run(plan, slow, quiet());
      ::_exit(0);
    }
    ::usleep(static_cast<useconds_t>(delay_us(rng)));
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == 0) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      ++kills;
    }
  }
  EXPECT_GE(kills, 3) << "the child finished before most kills; the test did not exercise resume";

  RunPlan final_plan = plan_run(make_run(out, kCount));
  EXPECT_EQ(final_plan.dir.filename(), reference.dir.filename());  // same config, same directory name
  RunOutcome outcome = execute_run(final_plan, fast, quiet());
  EXPECT_EQ(outcome.status, "complete");

  std::map<std::string, int> seen;
  for (const auto& row : read_rows(final_plan.dir)) seen[row["id"].get<std::string>()]++;
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(deterministic_part(outcome.metrics), deterministic_part(expected.metrics));
  json on_disk = json::parse(std::ifstream(final_plan.dir / "metrics.json"));
  EXPECT_EQ(deterministic_part(on_disk), deterministic_part(expected.metrics));
  json run = json::parse(std::ifstream(final_plan.dir / "run.json"));
  EXPECT_EQ(run["status"], "complete");
}

// A 3-cell sweep (budget_tokens 16/32/64: three run directories) of `count` samples each, resolved
// as `kvbench run` does (expand_sweep, resolve_run_config) and run cell after cell.
std::vector<RunConfig> make_sweep(const std::filesystem::path& out, int count) {
  testing::register_test_components();
  ConfigDocument doc = parse_config_text(
      "model: {path: /nonexistent/tiny}\nmethod: {name: test.method}\ntask: {name: test.counting}\n"
      "sweep: {grid: {method.params.budget_tokens: [16, 32, 64]}}\n",
      "inline");
  set_key_path(doc, "task.params.count", count, "test");
  set_key_path(doc, "output.dir", out.string(), "test");
  std::vector<RunConfig> runs;
  for (const auto& cell : expand_sweep(doc)) runs.push_back(resolve_run_config(cell.document));
  return runs;
}

std::vector<RunOutcome> run_sweep(const std::vector<RunConfig>& runs, Engine& engine) {
  std::vector<RunOutcome> outcomes;
  for (const auto& run : runs) {
    RunPlan plan = plan_run(run);
    outcomes.push_back(execute_run(plan, engine, quiet()));
  }
  return outcomes;
}

// Complete rows recorded so far under `out` (all cells of the sweep).
size_t rows_recorded(const std::filesystem::path& out) {
  size_t rows = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(out, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() != "samples.jsonl") continue;
    std::ifstream in(it->path(), std::ios::binary);
    rows += static_cast<size_t>(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
  }
  return rows;
}

TEST(Resume, SweepKilledAtTwentySeededMomentsEndsLikeAnUninterruptedSweep) {
  const int kCount = 25;   // per cell: 3 cells, 75 samples
  const int kKills = 20;
  testing::ArithmeticEngine fast;
  std::vector<RunOutcome> expected = run_sweep(make_sweep(scratch("sweep_reference"), kCount), fast);
  ASSERT_EQ(expected.size(), 3u);

  // The 20 moments, seeded: child k is killed once the sweep has recorded targets[k] rows (20
  // distinct counts in 1..74, so every kill leaves work and every child makes progress, whatever
  // the machine's speed), plus a random 0..6 ms, which puts the kill inside a sample (8 ms), an
  // append, or the config.json / env.json / metrics.json / run.json writes between cells.
  std::mt19937 rng(20261204);
  std::vector<size_t> targets(3 * kCount - 1);
  std::iota(targets.begin(), targets.end(), 1);
  std::shuffle(targets.begin(), targets.end(), rng);
  targets.resize(kKills);
  std::sort(targets.begin(), targets.end());
  std::uniform_int_distribution<int> extra_us(0, 6000);

  const std::filesystem::path out = scratch("sweep_killed");
  for (int attempt = 0; attempt < kKills; ++attempt) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        testing::ArithmeticEngine slow(std::chrono::milliseconds(8));
        run_sweep(make_sweep(out, kCount), slow);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "sweep child (attempt %d) failed: %s\n", attempt, e.what());
        ::_exit(1);
      }
      ::_exit(0);
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int status = 0;
    bool ended = false;
    while (rows_recorded(out) < targets[attempt] && std::chrono::steady_clock::now() < give_up) {
      if (::waitpid(child, &status, WNOHANG) != 0) {
        ended = true;
        break;
      }
      ::usleep(200);
    }
    if (!ended) {
      ::usleep(static_cast<useconds_t>(extra_us(rng)));
      ended = ::waitpid(child, &status, WNOHANG) != 0;
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
    }
    ASSERT_FALSE(ended) << "attempt " << attempt << ": the child ended (status " << status << ") before its kill at "
                        << targets[attempt] << " rows";
  }
  EXPECT_LT(rows_recorded(out), static_cast<size_t>(3 * kCount));

  std::vector<RunOutcome> resumed = run_sweep(make_sweep(out, kCount), fast);
  ASSERT_EQ(resumed.size(), expected.size());
  for (size_t cell = 0; cell < resumed.size(); ++cell) {
    SCOPED_TRACE(resumed[cell].label);
    EXPECT_EQ(resumed[cell].dir.filename(), expected[cell].dir.filename());
    EXPECT_EQ(resumed[cell].status, "complete");
    std::map<std::string, int> seen;
    for (const auto& row : read_rows(resumed[cell].dir)) seen[row["id"].get<std::string>()]++;
    EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
    for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
    EXPECT_EQ(deterministic_part(resumed[cell].metrics), deterministic_part(expected[cell].metrics));
    json on_disk = json::parse(std::ifstream(resumed[cell].dir / "metrics.json"));
    EXPECT_EQ(deterministic_part(on_disk), deterministic_part(expected[cell].metrics));
    EXPECT_EQ(json::parse(std::ifstream(resumed[cell].dir / "run.json"))["status"], "complete");
  }
}

TEST(Resume, TornLastLineIsCutAndRedone) {
  std::filesystem::path out = scratch("torn");
  RunPlan plan = plan_run(make_run(out, 6));
  testing::ArithmeticEngine engine;
  RunOptions options = quiet();
  execute_run(plan, engine, options);
  // Simulate a kill in the middle of appending q5: drop its line, leave half of it.
  std::vector<json> rows = read_rows(plan.dir);
  ASSERT_EQ(rows.size(), 6u);
  std::string text;
  for (size_t i = 0; i + 1 < rows.size(); ++i) text += rows[i].dump() + "\n";
  std::string last = rows.back().dump();
  text += last.substr(0, last.size() / 2);
  std::ofstream(plan.dir / "samples.jsonl", std::ios::trunc) << text;
  {
    RunStore store(plan.dir);
    EXPECT_EQ(store.torn_bytes_dropped(), last.size() / 2);
    EXPECT_EQ(store.rows().size(), 5u);
    EXPECT_FALSE(store.has_sample(rows.back()["id"].get<std::string>()));
  }
  RunOutcome outcome = execute_run(plan, engine, options);
  EXPECT_EQ(outcome.ran, 1u);
  EXPECT_EQ(read_rows(plan.dir).size(), 6u);
  EXPECT_EQ(outcome.status, "complete");
}

TEST(Resume, CorruptMiddleLineIsAnErrorNamingFileAndLine) {
  std::filesystem::path dir = scratch("corrupt");
  std::ofstream(dir / "samples.jsonl") << "{\"id\": \"a\"}\n{not json}\n{\"id\": \"b\"}\n";
  try {
    RunStore store(dir);
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("samples.jsonl:2: corrupt sample row"), std::string::npos) << msg;
  }
}

TEST(Resume, FailingSamplesBecomeErrorRowsAndRetryErrorsRedoesThem) {
  std::filesystem::path out = scratch("errors");
  RunPlan plan = plan_run(make_run(out, 8));
  testing::ArithmeticEngine failing(std::chrono::milliseconds(0), {"q2", "q5"});
  RunOutcome first = execute_run(plan, failing, quiet());
  EXPECT_EQ(first.status, "partial");
  EXPECT_EQ(first.metrics["n_samples"]["errors"], 2);
  EXPECT_EQ(first.metrics["n_samples"]["scored"], 6);
  auto rows = read_rows(plan.dir);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[2]["error"], "out of memory (simulated in a test)");
  EXPECT_TRUE(rows[3]["error"].is_null());
  // A plain re-run keeps the error rows (the ids are recorded) ...
  testing::ArithmeticEngine healthy;
  RunOutcome again = execute_run(plan, healthy, quiet());
  EXPECT_EQ(again.ran, 0u);
  EXPECT_EQ(again.status, "partial");
  // ... and --retry-errors runs exactly those samples again.
  RunOptions retry = quiet();
  retry.retry_errors = true;
  RunOutcome retried = execute_run(plan, healthy, retry);
  EXPECT_EQ(retried.ran, 2u);
  EXPECT_EQ(retried.status, "complete");
  EXPECT_EQ(read_rows(plan.dir).size(), 8u);
}

TEST(Resume, LimitExtendsTheSameRunDirectory) {
  std::filesystem::path out = scratch("limit");
  RunConfig run = make_run(out, 10);
  run.resolved["task"]["limit"] = 4;
  RunPlan small = plan_run(run);
  testing::ArithmeticEngine engine;
  RunOutcome a = execute_run(small, engine, quiet());
  EXPECT_EQ(a.metrics["n_samples"]["selected"], 4);
  run.resolved["task"]["limit"] = nullptr;
  RunPlan full = plan_run(run);
  EXPECT_EQ(full.dir, small.dir);
  RunOutcome b = execute_run(full, engine, quiet());
  EXPECT_EQ(b.skipped, 4u);
  EXPECT_EQ(b.ran, 6u);
}

TEST(Resume, SecondWriterIsRefused) {
  std::filesystem::path dir = scratch("lock");
  RunStore first(dir);
  pid_t child = ::fork();
  if (child == 0) {
    try {
      RunStore second(dir);
      ::_exit(1);
    } catch (const Error& e) {
      ::_exit(std::string(e.what()).find("another kvbench process") != std::string::npos ? 0 : 2);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace kvbench
