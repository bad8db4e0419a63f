// SPDX-License-Identifier: Apache-2.0
// "pyramidkv" (Cai et al., 2024; reference: Zefan-Cai/KVCache-Factory pyramidkv/pyramidkv_utils.py
// PyramidKVCluster): SnapKV's scoring and one-shot compression (methods/snapkv_cache.h) with
// per-layer capacities that decrease linearly from the bottom layer to the top.
// Schedule, in the reference's integer arithmetic, for capacity C, window w, beta, L layers and a
// prompt of S tokens:
//   S < C                 no compression;
//   S < 2 (C - w)         every layer keeps C - w prefix tokens (plain SnapKV);
//   otherwise             min = (C - w) // beta, max = 2 (C - w) - min; when max >= S - w then
//                         max = S - w and min = 2 (C - w) - max; steps = (max - min) // (L - 1);
//                         layer l keeps max - l * steps prefix tokens;
// always plus its window of w tokens. The total over layers stays about L (C - w) + L w.
// Defaults: window 64 and beta 20 (the class defaults), max_capacity_prompt 2048 (as snapkv; the
// reference scripts sweep it). GQA, pooling, ties and fp32 scores as snapkv (methods/snapkv.cpp).
#include "methods/snapkv_cache.h"

#include <algorithm>

namespace kvbench {

// The per-layer plan above; beta >= 1.
SnapLayerPlan pyramidkv_plan(int64_t layer, int64_t num_layers, int64_t window, int64_t beta, int64_t prompt,
                             int64_t capacity) {
  SnapLayerPlan plan = snapkv_plan(window, prompt, capacity);
  const int64_t base = capacity - window;
  if (!plan.compress || base <= 0 || prompt < 2 * base) return plan;
  int64_t min_num = base / beta;
  int64_t max_num = 2 * base - min_num;
  if (max_num >= prompt - window) {
    max_num = prompt - window;
    min_num = 2 * base - max_num;
  }
  const int64_t steps = num_layers > 1 ? (max_num - min_num) / (num_layers - 1) : 0;
  plan.selected = max_num - layer * steps;
  return plan;
}

namespace {

ParamSpecs pyramidkv_params() {
  ParamSpecs specs = snapkv_family_params(64);
  specs.push_back({"beta", ParamType::kInt, 20, "ratio of the bottom layer's prefix budget to the top's", 1.0});
  return specs;
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "pyramidkv",
    "PyramidKV: SnapKV scoring with prefix budgets decreasing linearly over the layers (beta 20)",
    pyramidkv_params(),
    [](const nlohmann::json& p) {
      SnapKVOptions options = snapkv_options("pyramidkv", p);
      options.schedule = [window = options.window, beta = p["beta"].get<int64_t>()](
                             int64_t layer, int64_t layers, int64_t prompt, int64_t capacity) {
        return pyramidkv_plan(layer, layers, window, beta, prompt, capacity);
      };
      return make_snapkv_cache(std::move(options));
    },
    {{"budget_params", {"max_capacity_prompt", "window_size"}}, {"shared_prefill", {{"uses", {"query"}}}}}});

}  // namespace kvbench
