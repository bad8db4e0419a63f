// SPDX-License-Identifier: Apache-2.0
// "snapkv" (Li et al., 2024; reference: FasterDecoding/SnapKV snapkv/monkeypatch/snapkv_utils.py
// SnapKVCluster + init_snapkv defaults): one-shot compression of the prompt after an exact prefill.
// Per layer, with the prompt's S tokens and the resolved capacity C (max_capacity_prompt, window
// included): when S >= C, the last w = window_size prompt queries (the observation window) attend
// every prompt key with a causal mask inside the window; their softmax (fp32, over all S keys) is
// summed over the w queries for each prefix key (slots 0..S-w-1), pooled along the tokens (avgpool
// kernel 5 with zero padding counted, or maxpool), and the top C - w prefix tokens are kept with
// the window. Decode then appends every generated token and attends exactly over the compressed
// cache (no recall). When S < C nothing is evicted.
// GQA (`gqa`): `repeat` is the reference (its Llama/Mistral path repeats K/V to the query heads
// before choosing, so each query head keeps its own C rows and the cache holds Hq heads: Hq / Hkv
// times the bytes of one set per KV head, which the memory record shows); `mean` averages the
// pooled scores over each KV head's group (kvpress SnapKVPress, SnapKV issue #22) and keeps one set
// per KV head.
// Differences from the reference: ties in the top-k go to the lower slot (torch.topk leaves them
// unspecified); scores stay fp32 (the reference casts the softmax back to the compute dtype before
// summing); a capacity resolved below the window (a fraction on a short prompt) keeps only the last
// C prompt tokens (the reference asserts C > w, checked at config time for token capacities).
// Layer budgets: local = the window (the whole prompt when not compressed), selected = C - w,
// generated = tokens decoded so far.
#include "harness/kv/budget.h"
#include "methods/snapkv_cache.h"

namespace kvbench {

ParamSpecs snapkv_family_params(int64_t window) {
  ParamSpec capacity = budget_param("max_capacity_prompt", 2048,
                                    "prompt tokens kept per layer and head, observation window included: tokens, "
                                    "a fraction of the prompt (< 1) or \"P%\"",
                                    "selected");
  ParamSpec window_size = with_budget_role(
      {"window_size", ParamType::kInt, window, "last prompt tokens whose queries score the prefix (kept exactly)",
       0.0},
      "local");
  ParamSpec kernel{"kernel_size", ParamType::kInt, 5, "1-D pooling kernel over the token scores (odd)", 1.0};
  ParamSpec pooling{"pooling", ParamType::kString, "avgpool", "pooling of the scores along the tokens"};
  pooling.choices = {"avgpool", "maxpool"};
  ParamSpec gqa{"gqa", ParamType::kString, "repeat",
                "repeat: one index set per query head, K/V repeated (reference); mean: scores averaged over the "
                "group, one set per KV head (kvpress)"};
  gqa.choices = {"repeat", "mean"};
  return {capacity, window_size, kernel, pooling, gqa};
}

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "snapkv",
    "SnapKV: after prefill keep the observation window + the prefix tokens its queries attend most (pooled)",
    snapkv_family_params(32),
    [](const nlohmann::json& p) {
      SnapKVOptions options = snapkv_options("snapkv", p);
      options.schedule = [window = options.window](int64_t, int64_t, int64_t prompt, int64_t capacity) {
        return snapkv_plan(window, prompt, capacity);
      };
      return make_snapkv_cache(std::move(options));
    },
    {{"budget_params", {"max_capacity_prompt", "window_size"}}, {"shared_prefill", {{"uses", {"query"}}}}}});

}  // namespace kvbench
