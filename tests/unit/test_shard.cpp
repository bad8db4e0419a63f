// SPDX-License-Identifier: Apache-2.0
// Sharding (issue 18): every work unit (cell, sample group) is in exactly one shard for N = 1..7,
// shards are balanced, the assignment is stable when the sweep is re-expanded or reordered; shards
// write their own part files, and the union of the parts is one run: the sharded sweep (also run
// concurrently and killed at random moments) ends with every sample once and the metrics of an
// unsharded run; an id in two parts is an error naming both files; the sbatch script text.
#include "harness/cli/slurm_command.h"
#include "harness/cli/rescore.h"
#include "harness/run/run_config.h"
#include "harness/run/run_store.h"
#include "harness/run/runner.h"
#include "harness/run/sample_parts.h"
#include "harness/run/shard.h"
#include "harness/run/sharded_run.h"
#include "harness/run/sweep.h"
#include "reports/run_index.h"
#include "tests/support/test_components.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>

namespace kvbench {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  const char* tmp = std::getenv("KVBENCH_TEST_TMP");
  fs::path dir = fs::path(tmp ? tmp : "/tmp") / "test_shard" / name;
  // Not std::filesystem::remove_all: the copy libtorch.so exports crashes in binaries linking it.
  KVBENCH_ASSERT(std::system(("rm -rf '" + dir.string() + "'").c_str()) == 0, "rm -rf ", dir);
  fs::create_directories(dir);
  return dir;
}

RunOptions quiet(const ShardSpec& shard = {}, const ShardPlan* plan = nullptr) {
  RunOptions o;
  o.progress = false;
  o.shard = shard;
  o.shard_plan = plan;
  return o;
}

// A sweep of test.counting cells: 3 budgets x 2 windows = 6 cells of `count` samples; `groups`
// sets output.sample_groups of every cell, `budgets` the order in which the axis lists its values.
std::vector<RunPlan> make_sweep(const fs::path& out, int count, int groups,
                                const std::vector<int>& budgets = {16, 32, 64}) {
  testing::register_test_components();
  std::string budget_list;
  for (int b : budgets) budget_list += (budget_list.empty() ? "" : ", ") + std::to_string(b);
  ConfigDocument doc = parse_config_text(
      "model: {path: /nonexistent/tiny}\nmethod: {name: test.method}\ntask: {name: test.counting}\n"
      "sweep: {grid: {method.params.budget_tokens: [" + budget_list + "], method.params.window: [1, 2]}}\n",
      "inline");
  set_key_path(doc, "task.params.count", count, "test");
  set_key_path(doc, "output.dir", out.string(), "test");
  set_key_path(doc, "output.sample_groups", groups, "test");
  std::vector<RunPlan> plans;
  for (const auto& cell : expand_sweep(doc)) plans.push_back(plan_run(resolve_run_config(cell.document)));
  return plans;
}

// Runs shard `shard` of the sweep as `kvbench run --shard` does: only cells with a unit of it.
void run_shard(std::vector<RunPlan>& plans, const ShardSpec& shard, Engine& engine) {
  const ShardPlan shard_plan = make_shard_plan(plans, shard.count);
  for (auto& plan : plans)
    if (cell_share(plan, shard, &shard_plan).any()) execute_run(plan, engine, quiet(shard, &shard_plan));
}

std::map<std::string, json> rows_by_id(const fs::path& dir) {
  std::map<std::string, json> rows;
  for (auto& row : read_sample_union(dir).rows) rows[row["id"].get<std::string>()] = row;
  return rows;
}

json deterministic_part(const json& metrics) {
  return {{"scores", metrics["scores"]}, {"buckets", metrics["buckets"]}, {"n_samples", metrics["n_samples"]},
          {"official", metrics["official"]}};
}

json read_json(const fs::path& path) { return json::parse(std::ifstream(path)); }

TEST(Shard, ParseShardAcceptsIOfNAndRejectsTheRest) {
  EXPECT_EQ(parse_shard("2/5").index, 2u);
  EXPECT_EQ(parse_shard("2/5").count, 5u);
  EXPECT_EQ(parse_shard("0/1").tag(), "shard-0-of-1");
  for (const char* bad : {"5/5", "1", "a/3", "-1/3", "1/0", "", "1/3/4", "1 /3"}) {
    try {
      parse_shard(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << bad;
      EXPECT_NE(std::string(e.what()).find("--shard"), std::string::npos) << e.what();
    }
  }
}

TEST(Shard, EveryUnitAndEverySampleIsInExactlyOneShardForNOneToSeven) {
  // 11 cells with 1..4 sample groups; 60 sample ids per cell.
  std::vector<ShardCell> cells;
  for (int c = 0; c < 11; ++c) cells.push_back({"task/p/m/method/b" + std::to_string(c) + "__" + std::to_string(1000 + c),
                                                static_cast<size_t>(1 + c % 4)});
  size_t units = 0;
  for (const auto& c : cells) units += c.groups;
  for (size_t n = 1; n <= 7; ++n) {
    SCOPED_TRACE("N=" + std::to_string(n));
    const ShardPlan plan(cells, n);
    EXPECT_EQ(plan.unit_count(), units);
    std::vector<size_t> per_shard(n, 0);
    for (const auto& cell : cells) {
      std::vector<int> owners(cell.groups, 0);
      for (size_t s = 0; s < n; ++s) {
        const CellShare share(plan, ShardSpec{s, n}, cell.key);
        for (size_t g : share.groups()) {
          owners.at(g)++;
          EXPECT_EQ(plan.shard_of(cell.key, g), s);
        }
        per_shard[s] += share.groups().size();
      }
      for (size_t g = 0; g < cell.groups; ++g) EXPECT_EQ(owners[g], 1) << cell.key << " group " << g;
      // Samples: exactly one shard owns each.
      for (int i = 0; i < 60; ++i) {
        const std::string id = "sample-" + std::to_string(i);
        int owned = 0;
        for (size_t s = 0; s < n; ++s) owned += CellShare(plan, ShardSpec{s, n}, cell.key).owns_sample(id) ? 1 : 0;
        EXPECT_EQ(owned, 1) << cell.key << " " << id;
      }
    }
    // Balanced: dealt round-robin, so shard loads differ by at most one unit.
    const auto [lo, hi] = std::minmax_element(per_shard.begin(), per_shard.end());
    EXPECT_LE(*hi - *lo, 1u);
    // The groups of one cell (G <= N) go to G distinct shards.
    for (const auto& cell : cells) {
      std::set<size_t> shards;
      for (size_t g = 0; g < cell.groups; ++g) shards.insert(plan.shard_of(cell.key, g));
      EXPECT_EQ(shards.size(), std::min(cell.groups, n)) << cell.key;
    }
  }
}

TEST(Shard, SampleGroupsSplitACellEvenlyEnough) {
  // 400 ids into 4 groups by hash: each group within 4 binomial standard deviations of 100
  // (sd = sqrt(400 * 1/4 * 3/4) = 8.7), a bound a fixed hash either meets or never does.
  std::vector<int> sizes(4, 0);
  for (int i = 0; i < 400; ++i) sizes[sample_group("cell__abc", "id" + std::to_string(i), 4)]++;
  for (int s : sizes) EXPECT_NEAR(s, 100, 35);
  EXPECT_EQ(sample_group("cell__abc", "anything", 1), 0u);
}

TEST(Shard, AssignmentIsStableWhenTheSweepIsReexpandedOrReordered) {
  const fs::path out = scratch("stable");
  const auto forward = make_sweep(out, 5, 3, {16, 32, 64});
  const auto again = make_sweep(out, 5, 3, {16, 32, 64});
  const auto reordered = make_sweep(out, 5, 3, {64, 16, 32});  // the axis lists its values in another order
  ASSERT_EQ(forward.size(), 6u);
  ASSERT_NE(cell_key(forward[0]), cell_key(reordered[0]));  // the list order differs ...
  for (size_t n = 1; n <= 7; ++n) {
    const ShardPlan a = make_shard_plan(forward, n), b = make_shard_plan(again, n), c = make_shard_plan(reordered, n);
    EXPECT_EQ(a.sweep_id(), b.sweep_id());
    EXPECT_EQ(a.sweep_id(), c.sweep_id());  // ... the set of cells does not
    for (const auto& plan : forward)
      for (size_t g = 0; g < 3; ++g) {
        EXPECT_EQ(a.shard_of(cell_key(plan), g), b.shard_of(cell_key(plan), g));
        EXPECT_EQ(a.shard_of(cell_key(plan), g), c.shard_of(cell_key(plan), g));
      }
  }
  // Another sweep (one cell fewer) has another id: `--expect-sweep` refuses an edited config.
  const auto smaller = make_sweep(out, 5, 3, {16, 32});
  EXPECT_NE(make_shard_plan(smaller, 3).sweep_id(), make_shard_plan(forward, 3).sweep_id());
  // Sub-shards of workers partition each shard: shard i of N with W workers = i*W+w of N*W.
  EXPECT_EQ(sub_shard(ShardSpec{1, 3}, 1, 2).text(), "3/6");
}

TEST(Shard, ShardsOfASweepMergeIntoTheUnshardedRun) {
  const int kCount = 12;
  testing::ArithmeticEngine engine;
  auto reference = make_sweep(scratch("merge_reference"), kCount, 1);
  std::map<std::string, json> expected_metrics;
  for (auto& plan : reference) {
    RunOutcome o = execute_run(plan, engine, quiet());
    ASSERT_EQ(o.status, "complete");
    expected_metrics[cell_key(plan)] = deterministic_part(o.metrics);
  }
  for (int groups : {1, 3}) {
    const fs::path out = scratch("merge_" + std::to_string(groups));
    auto plans = make_sweep(out, kCount, groups);
    const ShardSpec shards[] = {{0, 3}, {1, 3}, {2, 3}};
    for (const auto& shard : shards) run_shard(plans, shard, engine);
    for (size_t i = 0; i < plans.size(); ++i) {
      SCOPED_TRACE(cell_key(plans[i]) + " groups " + std::to_string(groups));
      ASSERT_EQ(cell_key(plans[i]), cell_key(reference[i]));  // sample_groups is not in the hash
      const auto rows = rows_by_id(plans[i].dir), ref_rows = rows_by_id(reference[i].dir);
      ASSERT_EQ(rows.size(), static_cast<size_t>(kCount));
      for (const auto& [id, row] : ref_rows) {
        EXPECT_EQ(rows.at(id)["prediction"], row["prediction"]) << id;
        EXPECT_EQ(rows.at(id)["scores"], row["scores"]) << id;
      }
      EXPECT_EQ(deterministic_part(read_json(plans[i].dir / "metrics.json")), expected_metrics[cell_key(plans[i])]);
      EXPECT_EQ(read_json(plans[i].dir / "run.json")["status"], "complete");
      EXPECT_FALSE(fs::exists(plans[i].dir / "samples.jsonl"));  // only the shards' parts
      // Each part holds only its shard's samples; with 3 groups every shard wrote into the cell.
      const ShardPlan shard_plan = make_shard_plan(plans, 3);
      size_t parts = 0;
      for (const auto& shard : shards) {
        const fs::path part = plans[i].dir / samples_part_name(shard);
        if (!fs::exists(part)) continue;
        ++parts;
        const CellShare share = cell_share(plans[i], shard, &shard_plan);
        for (const auto& row : read_sample_part(part).rows) EXPECT_TRUE(share.owns_sample(row["id"])) << row["id"];
        EXPECT_EQ(read_json(plans[i].dir / shard_status_name(shard))["status"], "finished");
      }
      EXPECT_EQ(parts, groups == 3 ? 3u : 1u);
      // Reports read the union as one run.
      RunRecord record = load_run(plans[i].dir);
      EXPECT_EQ(record.samples.size(), static_cast<size_t>(kCount));
      EXPECT_EQ(record.status, "complete");
      // Rescore over the parts changes nothing.
      RescoreOutcome rescored = rescore_run(plans[i].dir);
      EXPECT_EQ(rescored.scores_changed, 0u);
      EXPECT_EQ(rescored.rescored, static_cast<size_t>(kCount));
    }
  }
}

TEST(Shard, AnUnshardedRunFinishesWhatShardsLeftAndResumeSeesEveryPart) {
  const int kCount = 10;
  testing::ArithmeticEngine engine;
  const fs::path out = scratch("finish");
  auto plans = make_sweep(out, kCount, 3);
  run_shard(plans, ShardSpec{1, 3}, engine);  // shards 0 and 2 never ran
  std::map<std::string, size_t> recorded_by_shard;
  for (auto& plan : plans) recorded_by_shard[cell_key(plan)] = rows_by_id(plan.dir).size();
  for (auto& plan : plans) {
    RunOutcome o = execute_run(plan, engine, quiet());
    EXPECT_EQ(o.status, "complete");
    EXPECT_EQ(o.skipped, recorded_by_shard[cell_key(plan)]);  // nothing the shard recorded ran again
    EXPECT_EQ(o.ran + o.skipped, static_cast<size_t>(kCount));
    EXPECT_EQ(rows_by_id(plan.dir).size(), static_cast<size_t>(kCount));
  }
}

TEST(Shard, ConcurrentShardsKilledAtRandomEndWithEverySampleOnce) {
  const int kCount = 15;
  testing::ArithmeticEngine fast;
  auto reference = make_sweep(scratch("kill_reference"), kCount, 1);
  std::map<std::string, json> expected;
  for (auto& plan : reference) expected[cell_key(plan)] = deterministic_part(execute_run(plan, fast, quiet()).metrics);

  const fs::path out = scratch("kill");
  std::mt19937 rng(18);
  std::uniform_int_distribution<int> delay_us(5000, 150000);
  int kills = 0;
  for (int round = 0; round < 6; ++round) {
    // The three shards at once (every cell split in 3 groups: all three append into every cell).
    std::vector<pid_t> children;
    for (size_t s = 0; s < 3; ++s) {
      pid_t child = ::fork();
      ASSERT_GE(child, 0);
      if (child == 0) {
        try {
          auto plans = make_sweep(out, kCount, 3);
          testing::ArithmeticEngine slow(std::chrono::milliseconds(3));
          run_shard(plans, ShardSpec{s, 3}, slow);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "shard %zu failed: %s\n", s, e.what());
          ::_exit(1);
        }
        ::_exit(0);
      }
      children.push_back(child);
    }
    ::usleep(static_cast<useconds_t>(delay_us(rng)));
    const pid_t victim = children[static_cast<size_t>(rng() % 3)];
    int status = 0;
    if (::waitpid(victim, &status, WNOHANG) == 0) {
      ::kill(victim, SIGKILL);
      ++kills;
    }
    for (pid_t child : children) {
      ::waitpid(child, &status, 0);
      if (child != victim) {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "shard exited " << status;
      }
    }
  }
  EXPECT_GE(kills, 2) << "the shards finished before most kills; the test did not exercise resume";
  auto plans = make_sweep(out, kCount, 3);
  for (size_t s = 0; s < 3; ++s) run_shard(plans, ShardSpec{s, 3}, fast);  // the resubmission
  for (auto& plan : plans) {
    SCOPED_TRACE(cell_key(plan));
    std::map<std::string, int> seen;
    for (const auto& part : list_sample_parts(plan.dir))
      for (const auto& row : read_sample_part(part).rows) seen[row["id"].get<std::string>()]++;
    EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
    for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
    EXPECT_EQ(deterministic_part(read_json(plan.dir / "metrics.json")), expected[cell_key(plan)]);
    EXPECT_EQ(read_json(plan.dir / "run.json")["status"], "complete");
  }
}

TEST(Shard, OneShardAtATimeAndAnIdInTwoPartsIsAnErrorNamingBoth) {
  testing::ArithmeticEngine engine;
  const fs::path out = scratch("conflict");
  auto plans = make_sweep(out, 4, 1);
  const fs::path dir = plans[0].dir;
  {
    RunStore shard0(dir, ShardSpec{0, 2});
    RunStore shard1(dir, ShardSpec{1, 2});  // another part: no conflict
    try {
      RunStore again(dir, ShardSpec{0, 2});
      ADD_FAILURE() << "a second writer of shard 0/2 was let in";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBusy);
      EXPECT_NE(std::string(e.what()).find("shard 0/2"), std::string::npos) << e.what();
    }
  }
  execute_run(plans[0], engine, quiet());  // samples.jsonl holds all 4
  const std::string row = read_sample_part(dir / "samples.jsonl").rows[1].dump() + "\n";
  std::ofstream(dir / "samples.shard-1-of-3.jsonl") << row;
  for (int reader = 0; reader < 2; ++reader) {
    try {
      if (reader == 0)
        RunStore store(dir);
      else
        load_run(dir);
      ADD_FAILURE() << "a duplicate id across parts was accepted";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::kInput);
      EXPECT_NE(message.find("samples.shard-1-of-3.jsonl"), std::string::npos) << message;
      EXPECT_NE(message.find("samples.jsonl"), std::string::npos) << message;
      EXPECT_NE(message.find("sample '"), std::string::npos) << message;
    }
  }
}

TEST(Shard, SbatchScriptRunsOneShardPerArrayTask) {
  SbatchScript s;
  s.job_name = "kvbench-study";
  s.array_size = 3;
  s.max_parallel = 2;
  s.gpus_per_task = 1;
  s.time = "01:00:00";
  s.partition = "gpu";
  s.max_requeues = 2;
  s.log_dir = "/runs/study/slurm/logs";
  s.workdir = "/home/me/kvbench";
  s.run_command = {"/opt/kvbench/kvbench", "run", "/home/me/study.yaml", "--set", "output.dir=/runs/it's"};
  const std::string text = sbatch_script_text(s);
  for (const char* line : {"#!/bin/bash\n", "#SBATCH --job-name=kvbench-study\n", "#SBATCH --array=0-2%2\n",
                           "#SBATCH --output=/runs/study/slurm/logs/%x-%A_%a.out\n",
                           "#SBATCH --error=/runs/study/slurm/logs/%x-%A_%a.err\n", "#SBATCH --open-mode=append\n",
                           "#SBATCH --requeue\n", "#SBATCH --gres=gpu:1\n", "#SBATCH --time=01:00:00\n",
                           "#SBATCH --partition=gpu\n", "cd '/home/me/kvbench'\n", "shards=3\n",
                           "'/opt/kvbench/kvbench' 'run' '/home/me/study.yaml' '--set' 'output.dir=/runs/it'\\''s' \\\n"
                           "    --shard \"${SLURM_ARRAY_TASK_ID}/${shards}\" --no-progress\n",
                           "-lt 2 ]; then\n", "scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n",
                           "exit \"$code\"\n"})
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << text;
  // Every #SBATCH line comes before the first command (sbatch stops reading them there).
  EXPECT_LT(text.rfind("#SBATCH"), text.find("\nset -u"));
  EXPECT_EQ(text.find("--workers"), std::string::npos);
  s.gpus_per_task = 4;  // four GPUs: four workers, one shard each
  s.max_parallel = 0;
  const std::string four = sbatch_script_text(s);
  EXPECT_NE(four.find("--no-progress --workers 4\n"), std::string::npos) << four;
  EXPECT_NE(four.find("#SBATCH --array=0-2\n"), std::string::npos) << four;
  // The script is valid bash.
  const fs::path file = scratch("sbatch") / "job.sbatch";
  std::ofstream(file) << four;
  EXPECT_EQ(std::system(("bash -n '" + file.string() + "'").c_str()), 0);
}

}  // namespace
}  // namespace kvbench
