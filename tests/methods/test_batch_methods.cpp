// SPDX-License-Identifier: Apache-2.0
// Padded batches (issue 15): every registered KV method that declares batch support
// (registered with extra {"padded_batches": true}) generates, for a left-padded batch of 4 prompts of different lengths,
// the same greedy tokens as for each prompt alone, on every tiny checkpoint, at a budget small enough
// that it really selects or evicts. Batched fp32 matmuls may sum in another order than single ones,
// which moves logits by a few ulps; that flips a greedy token only on a near-tie, which these seeded
// prompts do not have (the check is exact tokens, as test_model's batched generation check).
// End to end, `kvbench run` with generation.batch_size 4 writes the same predictions as batch 1,
// and a method without padded-batch support is a config error naming the key.
#include "tests/methods/method_equivalence.h"
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace kvbench {
namespace {

// Small budgets so each method compresses prompts of 40-128 tokens (defaults are for 128K prompts).
nlohmann::json small_budget_params(const std::string& method) {
  static const std::map<std::string, nlohmann::json> params = {
      {"streaming_llm", {{"sink_tokens", 4}, {"recent_tokens", 24}}},
      {"quest", {{"token_budget", 32}, {"page_size", 8}, {"dense_layers", 0}}},
      {"snapkv", {{"max_capacity_prompt", 32}, {"window_size", 8}}},
      {"pyramidkv", {{"max_capacity_prompt", 32}, {"window_size", 8}}},
      {"h2o", {{"heavy_budget", 12}, {"recent_budget", 12}}},
      {"tova", {{"cache_size", 32}}},
  };
  auto it = params.find(method);
  return it == params.end() ? nlohmann::json::object() : it->second;
}

std::vector<std::string> batching_methods() {
  std::vector<std::string> names;
  for (const auto& name : KVMethodRegistry::instance().names())
    if (KVMethodRegistry::instance().find(name)->extra.value("padded_batches", false)) names.push_back(name);
  return names;
}

class BatchMethods : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchMethods, PaddedBatchOfFourEqualsEachPromptAlone) {
  const std::string method_name = GetParam();
  for (const std::string& model_name : test::tiny_model_names()) {
    SCOPED_TRACE(model_name);
    auto model = CausalLM::load(test::tiny_models_dir() + "/" + model_name, LoadOptions{at::kFloat, at::kCPU});
    const auto reference = test::tiny_reference(model_name);
    const int64_t vocab = model->config().vocab_size;
    std::vector<std::vector<int64_t>> prompts;
    for (int64_t length : {128, 40, 97, 64}) prompts.push_back(test::equivalence_prompt(reference, length, vocab));
    GenerateOptions options;
    options.max_new_tokens = 12;
    options.stop_on_eos = false;
    auto method = test::make_method(method_name, small_budget_params(method_name));
    const GenerateResult batched = generate(*model, *method, prompts, options);
    for (size_t b = 0; b < prompts.size(); ++b) {
      const GenerateResult alone = generate(*model, *method, {prompts[b]}, options);
      EXPECT_EQ(batched.tokens[b], alone.tokens[0]) << method_name << ", prompt " << b << " (" << prompts[b].size()
                                                    << " tokens)";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, BatchMethods, ::testing::ValuesIn(batching_methods()),
                         [](const auto& info) { return info.param; });

namespace fs = std::filesystem;

std::string niah_config(const fs::path& out, const std::string& method, int batch_size) {
  return "task:\n"
         "  name: niah.classic\n"
         "  data_root: " + test::env("KVBENCH_DATA_DIR") + "\n"
         "  params: {context_lengths: [300, 420, 560], depth_percents: [0, 60], max_new_tokens: 8}\n"
         "model: {path: " + test::tiny_chat_model().string() + ", dtype: float32, device: cpu}\n"
         "method: {name: " + method + "}\n"
         "generation: {batch_size: " + std::to_string(batch_size) + "}\n"
         "output: {dir: " + out.string() + "}\n";
}

// sample id -> prediction of the one run under `out`.
std::map<std::string, nlohmann::json> rows_of(const fs::path& out) {
  std::map<std::string, nlohmann::json> rows;
  test::for_each_sample_row(out, [&](const fs::path&, const nlohmann::json& row) { rows[row["id"].get<std::string>()] = row; });
  return rows;
}

TEST(BatchRuns, BatchOfFourWritesTheSamePredictionsAsOneAtATime) {
  const fs::path root = fs::path(test::env("KVBENCH_TEST_TMP", "/tmp")) / "batch_runs";
  ASSERT_TRUE(test::recreate_dir(root));
  const std::string kvbench = test::env("KVBENCH_BINARY", "kvbench");
  for (int batch : {1, 4}) {
    const fs::path config = root / ("batch" + std::to_string(batch) + ".yaml");
    std::ofstream(config) << niah_config(root / ("runs" + std::to_string(batch)), "full", batch);
    const test::CommandResult r = test::run_command(kvbench + " run '" + config.string() + "' --no-progress");
    ASSERT_EQ(r.code, 0) << r.out;
  }
  const auto one = rows_of(root / "runs1"), four = rows_of(root / "runs4");
  ASSERT_EQ(one.size(), 6u);  // 3 lengths x 2 depths: prompts of different lengths, left-padded together
  ASSERT_EQ(four.size(), one.size());
  for (const auto& [id, row] : one) {
    SCOPED_TRACE(id);
    const nlohmann::json& batched = four.at(id);
    EXPECT_TRUE(batched["error"].is_null()) << batched["error"];
    EXPECT_EQ(batched["prediction"], row["prediction"]);
    EXPECT_EQ(batched["output_tokens"], row["output_tokens"]);
    EXPECT_EQ(batched["input_tokens"], row["input_tokens"]);
    EXPECT_EQ(batched["scores"], row["scores"]);
    EXPECT_EQ(row["timing"]["batch_size"], 1);
  }
  // 6 samples in batches of 4: one of 4, one of 2.
  int in_four = 0, in_two = 0;
  for (const auto& [id, row] : four) (row["timing"]["batch_size"] == 4 ? in_four : in_two) += 1;
  EXPECT_EQ(in_four, 4);
  EXPECT_EQ(in_two, 2);
  // metrics.json reports the throughput.
  for (const auto& entry : fs::recursive_directory_iterator(root / "runs4"))
    if (entry.path().filename() == "metrics.json")
      EXPECT_GT(test::read_json_file(entry.path())["performance"]["throughput_tokens_per_s"]["overall"].get<double>(), 0);
}

TEST(BatchRuns, MethodWithoutPaddedBatchesIsAConfigError) {
  const fs::path root = fs::path(test::env("KVBENCH_TEST_TMP", "/tmp")) / "batch_runs_refused";
  ASSERT_TRUE(test::recreate_dir(root));
  std::ofstream(root / "quest.yaml") << niah_config(root / "runs", "quest", 2);
  const test::CommandResult r =
      test::run_command(test::env("KVBENCH_BINARY", "kvbench") + " validate '" + (root / "quest.yaml").string() + "'");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("quest.yaml:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("generation.batch_size: 2: method quest does not support padded batches"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace kvbench
