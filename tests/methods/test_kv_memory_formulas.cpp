// SPDX-License-Identifier: Apache-2.0
// Persistent device bytes against the analytic formulas of methods.md 1.9 (harness/kv/
// memory_formulas.h): the spec's per-token figures for Llama-3.1-8B, then "full" and
// "streaming_llm" measured on every tiny checkpoint through generate(), whose per-step snapshots
// and layer budgets must agree with tokens attended.
#include "harness/kv/memory_formulas.h"
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "tests/methods/method_equivalence.h"
#include "tests/model/tiny_models.h"

#include <gtest/gtest.h>

namespace kvbench {
namespace {

TEST(KVMemoryFormulas, SectionOneNineFiguresForLlama31_8B) {
  // Hkv 8, d 128, bf16 (methods.md 1.9 table).
  EXPECT_EQ(kv_formula::full_bytes_per_token_layer(8, 128, 2), 4096);
  EXPECT_EQ(kv_formula::shadowkv_bytes_per_token_layer(8, 128, 160, 8, 2), 320 + 256);
  EXPECT_EQ(kv_formula::yakv_landmark_bytes_per_token_layer(8, 128, 2, 2), 258);
  KVShape llama;
  llama.num_layers = 32;
  llama.num_kv_heads = 8;
  llama.head_dim = 128;
  EXPECT_EQ(kv_formula::kv_rows_bytes(llama, 1, 1, 2), 131072);               // 128 KiB per token (7.2)
  EXPECT_EQ(kv_formula::quest_metadata_bytes(llama, 1, 16, 16, 2) / 16 / 32, 256);  // per token-layer
  EXPECT_EQ(kv_formula::quest_metadata_bytes(llama, 1, 17, 16, 2), 2 * kv_formula::quest_metadata_bytes(llama, 1, 16, 16, 2));
}

struct TinyRun {
  std::unique_ptr<CausalLM> model;
  std::vector<int64_t> prompt;
  GenerateResult result;
};

TinyRun run_tiny(const std::string& name, KVMethod& method, int64_t max_new_tokens) {
  TinyRun r;
  r.model = CausalLM::load(test::tiny_models_dir() + "/" + name, {at::kFloat, at::kCPU});
  r.prompt = test::tiny_reference(name)["prompt"].get<std::vector<int64_t>>();
  GenerateOptions options;
  options.max_new_tokens = max_new_tokens;
  options.stop_on_eos = false;
  r.result = generate(*r.model, method, {r.prompt}, options);
  return r;
}

TEST(KVMemoryFormulas, FullCacheOnEveryTinyModel) {
  const int64_t steps = 6;
  for (const auto& name : test::tiny_model_names()) {
    auto method = test::make_method("full", nlohmann::json::object());
    TinyRun r = run_tiny(name, *method, steps);
    const ModelConfig& c = r.model->config();
    const int64_t prompt = static_cast<int64_t>(r.prompt.size());
    const int64_t slots = prompt + steps;  // generate() reserves prompt + max_new_tokens slots
    const KVMemory& end = r.result.kv;
    EXPECT_EQ(end.kv_device_bytes, c.num_layers * c.num_kv_heads * c.head_dim * 2 * slots * 4) << name;
    EXPECT_EQ(end.kv_device_bytes, kv_formula::full_cache_kv_bytes(c.kv_shape(), 1, slots, 4)) << name;
    EXPECT_EQ(end.metadata_device_bytes, kv_formula::full_cache_metadata_bytes(c.kv_shape(), 1, slots)) << name;
    EXPECT_EQ(end.device_bytes, end.kv_device_bytes + end.metadata_device_bytes) << name;
    EXPECT_EQ(end.host_bytes, 0);
    EXPECT_EQ(end.host_to_device_bytes, 0);
    // One snapshot per decode step; the step feeding generated token i attends prompt + i + 1 rows.
    ASSERT_EQ(r.result.kv_steps.size(), r.result.decode_ms.size()) << name;
    ASSERT_EQ(static_cast<int64_t>(r.result.kv_steps.size()), steps - 1) << name;
    EXPECT_DOUBLE_EQ(r.result.kv_after_prefill.tokens_attended, static_cast<double>(prompt));
    for (size_t i = 0; i < r.result.kv_steps.size(); ++i) {
      const KVMemory& m = r.result.kv_steps[i];
      EXPECT_DOUBLE_EQ(m.tokens_attended, static_cast<double>(prompt + 1 + static_cast<int64_t>(i))) << name;
      ASSERT_EQ(static_cast<int64_t>(m.layer_budgets.size()), c.num_layers);
      for (const LayerBudget& b : m.layer_budgets) {
        EXPECT_EQ(b.local, prompt);
        EXPECT_EQ(b.generated, static_cast<int64_t>(i) + 1);
        EXPECT_DOUBLE_EQ(static_cast<double>(b.total()), m.tokens_attended);
      }
    }
  }
}

TEST(KVMemoryFormulas, StreamingLLMOnEveryTinyModel) {
  const int64_t steps = 12, sink = 4, recent = 40;  // the 64-token prompt is cut to 44, then slides
  for (const auto& name : test::tiny_model_names()) {
    auto method = test::make_method("streaming_llm", {{"sink_tokens", sink}, {"recent_tokens", recent}});
    TinyRun r = run_tiny(name, *method, steps);
    const ModelConfig& c = r.model->config();
    const int64_t prompt = static_cast<int64_t>(r.prompt.size());
    const KVMemory& after_prefill = r.result.kv_after_prefill;
    EXPECT_EQ(after_prefill.kv_device_bytes, kv_formula::streaming_llm_kv_bytes(c.kv_shape(), 1, prompt, sink, recent, 4));
    EXPECT_EQ(after_prefill.metadata_device_bytes, 0);
    ASSERT_EQ(static_cast<int64_t>(r.result.kv_steps.size()), steps - 1);
    for (size_t i = 0; i < r.result.kv_steps.size(); ++i) {
      const KVMemory& m = r.result.kv_steps[i];
      const int64_t generated = static_cast<int64_t>(i) + 1;
      EXPECT_EQ(m.kv_device_bytes, kv_formula::streaming_llm_kv_bytes(c.kv_shape(), 1, prompt + generated, sink, recent, 4));
      EXPECT_EQ(m.device_bytes, m.kv_device_bytes);
      EXPECT_DOUBLE_EQ(m.tokens_attended, static_cast<double>(sink + recent)) << name;
      for (const LayerBudget& b : m.layer_budgets) {
        EXPECT_EQ(b.sink, sink);
        EXPECT_EQ(b.generated, generated);
        EXPECT_EQ(b.local, recent - generated);  // the window slides over the prompt's tail
        EXPECT_EQ(b.total(), sink + recent);
      }
    }
  }
}

}  // namespace
}  // namespace kvbench
