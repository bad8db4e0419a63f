// SPDX-License-Identifier: Apache-2.0
// yakv / yakv_gpu (b): with budgets covering the whole prompt and lossless K/V storage, greedy tokens
// and logits (<= 1e-4, fp32) equal the full cache on every tiny model, while the selection, gather
// and re-RoPE paths still run (every prompt token outside the exact windows is selected).
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "methods/method.h"
#include "tests/model/tiny_models.h"

#include <gtest/gtest.h>

namespace kvbench {
namespace {

std::unique_ptr<KVMethod> make(const std::string& name, const nlohmann::json& params) {
  const auto* entry = KVMethodRegistry::instance().find(name);
  nlohmann::json resolved = default_params(entry->params);
  for (const auto& [k, v] : params.items()) resolved[k] = v;
  return entry->make(resolved);
}

// (b) Budgets covering the prompt with lossless storage reproduce the full cache.
TEST(Yakv, CoveringBudgetsEqualFullCacheOnEveryTinyModel) {
  const std::vector<std::pair<std::string, nlohmann::json>> configs = {
      // Local 8 + 2 first tokens exact, every other prompt token selected (its key re-RoPE'd from
      // the exact pre-RoPE store, its value from the host store).
      {"yakv", {{"local_budget", 8}, {"outlier_budget", 2}, {"sparse_budget", 4096},
                {"key_quantization", "none"}, {"value_quantization", "none"}}},
      // prefix 7 + suffix 7 of 64, the 50 infix tokens all selected, K/V stored in the compute dtype.
      {"yakv_gpu", {{"prefix_budget", 0.1}, {"sparse_budget", 0.8}, {"suffix_budget", 0.1},
                    {"min_seqlen_to_prune", 16}, {"kv_cache_dtype", "compute"}}}};
  for (const auto& name : test::tiny_model_names()) {
    auto model = CausalLM::load(test::tiny_models_dir() + "/" + name, {at::kFloat, at::kCPU});
    std::vector<int64_t> prompt = test::tiny_reference(name)["prompt"].get<std::vector<int64_t>>();
    GenerateOptions options;
    options.max_new_tokens = 8;
    options.stop_on_eos = false;
    options.keep_logits = true;
    auto full = KVMethodRegistry::instance().find("full")->make({});
    GenerateResult expected = generate(*model, *full, {prompt}, options);
    for (const auto& [method_name, params] : configs) {
      auto method = make(method_name, params);
      GenerateResult got = generate(*model, *method, {prompt}, options);
      EXPECT_EQ(got.tokens, expected.tokens) << name << " " << method_name;
      ASSERT_EQ(got.step_logits.size(), expected.step_logits.size());
      for (size_t i = 0; i < got.step_logits.size(); ++i)
        EXPECT_LT((got.step_logits[i] - expected.step_logits[i]).abs().max().item<double>(), 1e-4)
            << name << " " << method_name << " step " << i;
      EXPECT_GT(got.kv.host_to_device_bytes, 0) << name << " " << method_name;
      EXPECT_EQ(got.kv.layer_budgets.size(), static_cast<size_t>(model->config().num_layers));
    }
  }
}

}  // namespace
}  // namespace kvbench
