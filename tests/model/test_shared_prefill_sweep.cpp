// SPDX-License-Identifier: Apache-2.0
// Shared prefill end to end (issue 15, acceptance 1): a sweep of four methods that start from exact
// prefill (full, quest, shadowkv, streaming_llm) plus one that does not declare it (kivi) over the
// same three LongBench samples on the tiny Qwen3 chat model. With generation.shared_prefill (the
// default) the model's prefill runs once per sample for the four (metrics.json "prefill": one
// cell records it, three replay it) while kivi runs its own; the run directories, predictions,
// scores and token counts equal those of the same sweep with shared_prefill false, where every cell
// runs its own prefill. The shared sweep is run in two steps (--limit 2, then all three) so every
// cell resumes on its own.
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::env;
using test::run_command;

std::string sweep_config(const fs::path& out, const std::string& shared_prefill) {
  return test::multi_news_yaml(test::tiny_chat_model(), 300) +
         "generation: {max_new_tokens: 6, shared_prefill: " + shared_prefill + "}\n"
         "output: {dir: " + out.string() + "}\n"
         "sweep:\n"
         "  grid:\n"
         "    method:\n"
         "      - {name: full}\n"
         "      - {name: quest, params: {token_budget: 64, page_size: 16, dense_layers: 0}}\n"
         "      - {name: shadowkv, params: {sparse_budget: 64, rank: 32}}\n"
         "      - {name: streaming_llm, params: {sink_tokens: 4, recent_tokens: 32}}\n"
         "      - {name: kivi, params: {group_size: 16}}\n";
}

// samples.jsonl rows of every run below `root`, by (run directory relative to root, sample id).
std::map<std::pair<std::string, std::string>, json> rows_under(const fs::path& root) {
  std::map<std::pair<std::string, std::string>, json> rows;
  test::for_each_sample_row(root, [&](const fs::path& run_dir, const json& row) {
    rows[{fs::relative(run_dir, root).string(), row["id"].get<std::string>()}] = row;
  });
  return rows;
}

// metrics.json "prefill" summed over the runs below `root`, kivi's apart.
json prefill_counts(const fs::path& root, bool kivi) {
  json sum = {{"own", 0}, {"recorded", 0}, {"replayed", 0}};
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().filename() != "metrics.json") continue;
    const json metrics = test::read_json_file(entry.path());
    if ((metrics["run"]["method"] == "kivi") != kivi) continue;
    for (const auto& mode : {"own", "recorded", "replayed"})
      sum[mode] = sum[mode].get<int>() + metrics["prefill"][mode].get<int>();
  }
  return sum;
}

TEST(SharedPrefillSweep, OnePrefillPerSampleAndTheSameResultsAsSeparateRuns) {
  const fs::path root = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "shared_prefill_sweep";
  ASSERT_TRUE(test::recreate_dir(root));
  std::ofstream(root / "shared.yaml") << sweep_config(root / "shared", "true");
  std::ofstream(root / "separate.yaml") << sweep_config(root / "separate", "false");
  const std::string kvbench = env("KVBENCH_BINARY", "kvbench") + " run ";
  test::CommandResult r = run_command(kvbench + "'" + (root / "shared.yaml").string() + "' --limit 2 --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_command(kvbench + "'" + (root / "shared.yaml").string() + "' --limit 3 --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_command(kvbench + "'" + (root / "separate.yaml").string() + "' --limit 3 --no-progress");
  ASSERT_EQ(r.code, 0) << r.out;

  const auto shared = rows_under(root / "shared"), separate = rows_under(root / "separate");
  ASSERT_EQ(shared.size(), 15u);  // 5 methods x 3 samples, each exactly once
  ASSERT_EQ(separate.size(), 15u);
  for (const auto& [key, row] : shared) {
    SCOPED_TRACE(key.first + " " + key.second);
    ASSERT_TRUE(separate.count(key)) << "the same run directory and sample in the separate sweep";
    const json& other = separate.at(key);
    EXPECT_EQ(row["error"], nullptr);
    EXPECT_EQ(row["prediction"], other["prediction"]);
    EXPECT_EQ(row["scores"], other["scores"]);
    EXPECT_EQ(row["input_tokens"], other["input_tokens"]);
    EXPECT_EQ(row["output_tokens"], other["output_tokens"]);
    EXPECT_EQ(row["prompt_sha256"], other["prompt_sha256"]);
    EXPECT_EQ(other["timing"]["prefill_mode"], "own");
  }
  // The model's prefill ran once per sample for the four declaring methods; kivi ran its own.
  EXPECT_EQ(prefill_counts(root / "shared", false), json({{"own", 0}, {"recorded", 3}, {"replayed", 9}}));
  EXPECT_EQ(prefill_counts(root / "shared", true), json({{"own", 3}, {"recorded", 0}, {"replayed", 0}}));
  EXPECT_EQ(prefill_counts(root / "separate", false), json({{"own", 12}, {"recorded", 0}, {"replayed", 0}}));
}

}  // namespace
}  // namespace kvbench
