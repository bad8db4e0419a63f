// SPDX-License-Identifier: Apache-2.0
// Per-run settings reach a shared engine (issue 16): `kvbench run` shares one engine between
// consecutive runs with the same model and method, so a sweep that varies only
// task.params.enable_thinking (chat template variable) and output.per_step_accounting (kv.steps
// arrays) must still apply each cell's own values. Every cell of such a sweep, run on the tiny
// Qwen3 chat model (tests/support/make_tiny_chat_model.py) over one LongBench multi_news sample,
// must record exactly what the same cell records when run alone (a fresh engine): the same
// prompt_sha256 and input_tokens, and kv.steps present iff per_step_accounting. The two
// enable_thinking values must render different prompts, or the test could not see a stale value.
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using kvbench::test::env;
using Result = kvbench::test::CommandResult;
constexpr auto* run = &kvbench::test::run_command;

constexpr auto* read_json = &kvbench::test::read_json_file;

using kvbench::test::tiny_chat_model;

// The one recorded row of every run directory under `out`, keyed by (enable_thinking,
// per_step_accounting) as the run's config.json records them.
using Cell = std::pair<bool, bool>;
std::map<Cell, json> rows_by_cell(const fs::path& out) {
  std::map<Cell, json> rows;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (entry.path().filename() != "samples.jsonl") continue;
    json config = read_json(entry.path().parent_path() / "config.json");
    Cell cell{config["task"]["params"]["enable_thinking"].get<bool>(),
              config["output"]["per_step_accounting"].get<bool>()};
    std::ifstream in(entry.path());
    std::string line;
    EXPECT_TRUE(static_cast<bool>(std::getline(in, line))) << entry.path();
    EXPECT_FALSE(rows.count(cell)) << "two runs for one cell under " << out;
    rows[cell] = json::parse(line);
  }
  return rows;
}

TEST(EnginePerRunSettings, SweepCellsSharingAnEngineRecordTheirOwnSettings) {
  const fs::path model = tiny_chat_model();
  const fs::path root = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "engine_per_run";
  ASSERT_TRUE(kvbench::test::recreate_dir(root));
  const std::string base =
      kvbench::test::multi_news_yaml(model, 400, /*limit=*/1) +
      "method: {name: full}\n"
      "generation: {max_new_tokens: 3}\n";
  {
    std::ofstream(root / "single.yaml") << base;
    // One model and one method: all four runs share one engine. per_step_accounting is not part
    // of the run hash, so each of its values gets its own output.dir.
    std::ofstream(root / "sweep.yaml") << base
        << "sweep:\n"
           "  grid:\n"
           "    task.params.enable_thinking: [false, true]\n"
           "  zip:\n"
           "    output.per_step_accounting: [false, true]\n"
           "    output.dir: ['" << (root / "sweep" / "a").string() << "', '" << (root / "sweep" / "b").string()
        << "']\n";
  }
  const std::string kvbench = env("KVBENCH_BINARY", "kvbench");
  Result sweep = run(kvbench + " run '" + (root / "sweep.yaml").string() + "' --no-progress");
  ASSERT_EQ(sweep.code, 0) << sweep.out;
  for (bool thinking : {false, true}) {
    for (bool steps : {false, true}) {
      const fs::path out = root / "single" / (std::to_string(thinking) + std::to_string(steps));
      Result single = run(kvbench + " run '" + (root / "single.yaml").string() + "' --no-progress" +
                          " --set task.params.enable_thinking=" + (thinking ? "true" : "false") +
                          " --set output.per_step_accounting=" + (steps ? "true" : "false") +
                          " --set output.dir='" + out.string() + "'");
      ASSERT_EQ(single.code, 0) << single.out;
    }
  }

  std::map<Cell, json> swept = rows_by_cell(root / "sweep");
  std::map<Cell, json> alone = rows_by_cell(root / "single");
  ASSERT_EQ(swept.size(), 4u) << sweep.out;
  ASSERT_EQ(alone.size(), 4u);
  for (const auto& [cell, row] : swept) {
    const auto& [thinking, steps] = cell;
    SCOPED_TRACE("enable_thinking=" + std::to_string(thinking) + " per_step_accounting=" + std::to_string(steps));
    ASSERT_TRUE(row["error"].is_null()) << row["error"];
    const json& reference = alone.at(cell);
    EXPECT_EQ(row["prompt_sha256"], reference["prompt_sha256"]);
    EXPECT_EQ(row["input_tokens"], reference["input_tokens"]);
    EXPECT_EQ(row["kv"].contains("steps"), steps);
    EXPECT_EQ(reference["kv"].contains("steps"), steps);
  }
  // The template variable changes the prompt (Qwen 3 appends an empty think block for false), so
  // a stale value would show as a wrong prompt_sha256 above.
  EXPECT_NE(alone.at({false, false})["prompt_sha256"], alone.at({true, false})["prompt_sha256"]);
}

}  // namespace
}  // namespace kvbench
