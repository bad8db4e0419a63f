// SPDX-License-Identifier: Apache-2.0
// The one-shot prompt compression shared by "snapkv" (methods/snapkv.cpp) and "pyramidkv"
// (methods/pyramidkv.cpp): exact prefill, then at the end of the prompt each layer keeps its
// observation window plus the prefix tokens SnapKV's scoring ranks highest (methods/
// eviction_scoring.h), and decodes exactly on that compressed cache (generated tokens are never
// evicted). The two methods differ only in how many prefix tokens each layer keeps (a schedule).
#pragma once

#include "harness/kv/budget.h"
#include "harness/kv/method.h"
#include "methods/eviction_scoring.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace kvbench {

// What one layer keeps of a prompt of S tokens.
struct SnapLayerPlan {
  bool compress = false;  // false: the whole prompt is kept (the budget covers it)
  int64_t window = 0;     // last prompt tokens kept exactly (the observation window), <= S
  int64_t selected = 0;   // prefix tokens (slots 0..S-window-1) kept by score
};

// plan(layer, num_layers, prompt_tokens, capacity_tokens): capacity_tokens is the resolved
// max_capacity_prompt (window included).
using SnapSchedule = std::function<SnapLayerPlan(int64_t, int64_t, int64_t, int64_t)>;

enum class SnapGqa {
  kRepeat,  // scores per query head, KV repeated to the query heads (the cache holds Hq heads)
  kMean,    // scores averaged over each KV head's group (one index set per KV head)
};

struct SnapKVOptions {
  std::string method;           // registry name, for messages and stats
  TokenBudget capacity;         // max_capacity_prompt
  int64_t window = 32;          // window_size
  int64_t kernel_size = 5;
  SnapPooling pooling = SnapPooling::kAvg;
  SnapGqa gqa = SnapGqa::kRepeat;
  SnapSchedule schedule;
};

// The parameters snapkv and pyramidkv share (methods/snapkv.cpp): max_capacity_prompt (budget,
// role selected, window included), window_size (role local, default `default_window`),
// kernel_size, pooling, gqa.
ParamSpecs snapkv_family_params(int64_t default_window);

// Reads max_capacity_prompt, window_size, kernel_size, pooling, gqa from resolved params.
SnapKVOptions snapkv_options(const std::string& method, const nlohmann::json& params);

// SnapKV's own plan: no compression when S < capacity (the reference's `q_len < max_capacity_prompt`)
// or when window + selected covers the prompt; else the window (min(window, capacity)) plus
// capacity - window prefix tokens, the same in every layer.
SnapLayerPlan snapkv_plan(int64_t window, int64_t prompt_tokens, int64_t capacity_tokens);

// PyramidKV's plan for `layer` of `num_layers` (methods/pyramidkv.cpp states the schedule).
SnapLayerPlan pyramidkv_plan(int64_t layer, int64_t num_layers, int64_t window, int64_t beta,
                             int64_t prompt_tokens, int64_t capacity_tokens);

std::unique_ptr<KVMethod> make_snapkv_cache(SnapKVOptions options);

}  // namespace kvbench
