// SPDX-License-Identifier: Apache-2.0
// yakv / yakv_gpu (b): with budgets covering the whole prompt and lossless K/V storage, greedy tokens
// and logits (<= 1e-4, fp32) equal the full cache on every tiny model, while the selection, gather
// and re-RoPE paths still run (every prompt token outside the exact windows is selected); also
// with a chunked prefill of a longer prompt.
#include "tests/methods/method_equivalence.h"

#include <gtest/gtest.h>

namespace kvbench {
namespace {

// Local 8 + the first 2 tokens exact; every other prompt token selected, its key re-RoPE'd from the
// exact pre-RoPE key store and its value read from the host value store.
const nlohmann::json kYakvCovering = {{"local_budget", 8}, {"outlier_budget", 2}, {"sparse_budget", 4096},
                                      {"key_quantization", "none"}, {"value_quantization", "none"}};
// S = 64: prefix 7 + suffix 7 exact, the 50 infix tokens all selected (S = 100: 10 + 10, 80);
// keys and values stored in the compute dtype in mapped host memory.
const nlohmann::json kYakvGpuCovering = {{"prefix_budget", 0.1}, {"sparse_budget", 0.8}, {"suffix_budget", 0.1},
                                         {"min_seqlen_to_prune", 16}, {"kv_cache_dtype", "compute"}};

TEST(Yakv, CoveringBudgetsEqualFullCacheOnEveryTinyModel) {
  test::EquivalenceOptions options;
  options.max_new_tokens = 6;
  test::expect_equivalent_to_full("yakv", kYakvCovering, options);
  test::expect_equivalent_to_full("yakv_gpu", kYakvGpuCovering, options);
}

TEST(Yakv, CoveringBudgetsEqualFullCacheWithChunkedPrefill) {
  test::EquivalenceOptions options;
  options.max_new_tokens = 4;
  options.prompt_tokens = 100;
  options.prefill_chunk = 40;
  options.models = {"qwen3"};
  test::expect_equivalent_to_full("yakv", kYakvCovering, options);
  test::expect_equivalent_to_full("yakv_gpu", kYakvGpuCovering, options);
}

}  // namespace
}  // namespace kvbench
