// SPDX-License-Identifier: Apache-2.0
// snapkv and pyramidkv: the scoring rule (window softmax, pooling, GQA modes, top-k with ties to the
// lower slot) against fp64 loops; the rows each method keeps, read exactly from one-hot values
// (tests/methods/eviction_reference.h) after a chunked prefill and during decode; PyramidKV's
// schedule against numbers worked by hand from the reference formula; and with a capacity covering
// the prompt, the full cache's logits and tokens on every tiny model.
#include "methods/eviction_scoring.h"
#include "methods/snapkv_cache.h"
#include "tests/methods/eviction_reference.h"
#include "tests/methods/method_equivalence.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kvbench {
namespace {

// fp64 SnapKV scores of one query head h: sum over the window's queries of their probability on each
// prefix key, then pooled (avg: zero padding counted, divisor kernel; max over in-range neighbours).
std::vector<double> reference_head_scores(const test::LayerSequence& seq, int64_t s, int64_t w, int64_t h,
                                          int64_t kernel, bool avg) {
  const int64_t group = seq.query.size(1) / seq.key.size(1);
  at::Tensor keys = seq.key.select(0, 0).select(0, h / group);
  std::vector<double> sums(static_cast<size_t>(s - w), 0.0);
  for (int64_t i = 0; i < w; ++i) {
    const int64_t slot = s - w + i;
    std::vector<int64_t> visible(static_cast<size_t>(slot + 1));
    std::iota(visible.begin(), visible.end(), 0);
    auto p = test::dense_probabilities(seq.query.select(0, 0).select(0, h).select(0, slot), keys, visible, seq.scale);
    for (int64_t j = 0; j < s - w; ++j) sums[static_cast<size_t>(j)] += p[static_cast<size_t>(j)];
  }
  std::vector<double> pooled(sums.size());
  const int64_t r = kernel / 2, n = s - w;
  for (int64_t j = 0; j < n; ++j) {
    double acc = avg ? 0.0 : -1.0;
    for (int64_t t = j - r; t <= j + r; ++t) {
      if (t < 0 || t >= n) continue;
      acc = avg ? acc + sums[static_cast<size_t>(t)] : std::max(acc, sums[static_cast<size_t>(t)]);
    }
    pooled[static_cast<size_t>(j)] = avg ? acc / static_cast<double>(kernel) : acc;
  }
  return pooled;
}

// Kept prefix positions per head (Hq heads for repeat, Hkv for mean), fp64 reference.
std::vector<std::vector<int64_t>> reference_selection(const test::LayerSequence& seq, int64_t s, int64_t w,
                                                      int64_t selected, int64_t kernel, bool avg, bool repeat) {
  const int64_t hq = seq.query.size(1), hkv = seq.key.size(1), group = hq / hkv;
  std::vector<std::vector<double>> per_q;
  for (int64_t h = 0; h < hq; ++h) per_q.push_back(reference_head_scores(seq, s, w, h, kernel, avg));
  std::vector<std::vector<int64_t>> out;
  if (repeat) {
    for (const auto& scores : per_q) out.push_back(test::reference_top(scores, selected));
    return out;
  }
  for (int64_t kv = 0; kv < hkv; ++kv) {
    std::vector<double> mean(per_q[0].size(), 0.0);
    for (int64_t g = 0; g < group; ++g)
      for (size_t j = 0; j < mean.size(); ++j) mean[j] += per_q[static_cast<size_t>(kv * group + g)][j] / group;
    out.push_back(test::reference_top(mean, selected));
  }
  return out;
}

std::vector<int64_t> as_vector(const at::Tensor& t) {
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

TEST(SnapKVScoring, TopSlotsBreaksTiesTowardTheLowerSlot) {
  at::Tensor scores = at::tensor({0.5, 0.9, 0.5, 0.1, 0.9, 0.5}, at::kFloat).view({1, 1, 6});
  EXPECT_EQ(as_vector(top_slots(scores, 3).contiguous()), (std::vector<int64_t>{0, 1, 4}));
  EXPECT_EQ(as_vector(top_slots(scores, 4).contiguous()), (std::vector<int64_t>{0, 1, 2, 4}));
  EXPECT_EQ(top_slots(scores, 0).size(-1), 0);
  EXPECT_EQ(top_slots(scores, 9).size(-1), 6);
}

TEST(SnapKVScoring, WindowScoresAndPoolingMatchDenseLoops) {
  const int64_t hq = 4, hkv = 2, s = 40, w = 8;
  const test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, s, 16, 11);
  at::Tensor raw = snapkv_window_scores(seq.query.narrow(2, s - w, w), seq.key, seq.scale);
  ASSERT_EQ(raw.sizes(), (at::IntArrayRef{1, hq, s - w}));
  for (bool avg : {true, false}) {
    at::Tensor pooled = snapkv_pool(raw, 5, avg ? SnapPooling::kAvg : SnapPooling::kMax);
    for (int64_t h = 0; h < hq; ++h) {
      auto want = reference_head_scores(seq, s, w, h, 5, avg);
      for (int64_t j = 0; j < s - w; ++j) {
        // Each score sums <= 8 probabilities, each within ~S * eps_fp32 relative of fp64: 1e-5 absolute
        // is over 10x that bound for scores <= 8.
        EXPECT_NEAR(pooled[0][h][j].item<double>(), want[static_cast<size_t>(j)], 1e-5) << h << " " << j;
      }
    }
  }
}

// Drives one layer: prefill in two chunks, then decode steps; checks the attended rows exactly.
void check_method_keeps_reference_rows(const std::string& pooling, const std::string& gqa) {
  const int64_t hq = 4, hkv = 2, s = 40, w = 8, capacity = 20, steps = 3, d = 64;
  const test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, s + steps, d, 5);
  ModelConfig config;
  config.num_layers = 1;
  config.head_dim = d;
  ModelView view{config.kv_shape(), nullptr, nullptr};
  auto method = test::make_method(
      "snapkv", {{"max_capacity_prompt", capacity}, {"window_size", w}, {"pooling", pooling}, {"gqa", gqa}});
  method->reset(view, 1, s + steps);
  method->attend(seq.call(0, 25, AttentionPhase::kPrefill, false));
  method->attend(seq.call(25, s - 25, AttentionPhase::kPrefill, true));
  const bool repeat = gqa == "repeat";
  const auto selection = reference_selection(seq, s, w, capacity - w, 5, pooling == "avgpool", repeat);
  for (int64_t step = 0; step < steps; ++step) {
    at::Tensor out = method->attend(seq.call(s + step, 1, AttentionPhase::kDecode));
    for (int64_t h = 0; h < hq; ++h) {
      const auto& chosen = selection[static_cast<size_t>(repeat ? h : h / (hq / hkv))];
      test::PositionSet want(chosen.begin(), chosen.end());
      for (int64_t p = s - w; p <= s + step; ++p) want.insert(p);
      EXPECT_EQ(test::attended_positions(out, h), want) << pooling << " " << gqa << " head " << h << " step " << step;
    }
    const KVMemory m = method->memory();
    ASSERT_EQ(m.layer_budgets.size(), 1u);
    EXPECT_EQ(m.layer_budgets[0].local, w);
    EXPECT_EQ(m.layer_budgets[0].selected, capacity - w);
    EXPECT_EQ(m.layer_budgets[0].generated, step + 1);
    EXPECT_DOUBLE_EQ(m.tokens_attended, static_cast<double>(capacity + step + 1));
  }
  // Device bytes: (capacity + tokens still to come) rows of K and V per cached head, fp32; the
  // cache holds Hq heads in repeat mode (one set per query head), Hkv in mean mode.
  const int64_t heads = repeat ? hq : hkv;
  EXPECT_EQ(method->memory().kv_device_bytes, 2 * heads * (capacity + steps) * d * 4);
  EXPECT_GE(method->memory().peak_device_bytes, 2 * hkv * s * d * 4);  // the prompt before compression
}

TEST(SnapKV, KeepsTheReferenceRowsPerHeadInEveryMode) {
  for (const char* pooling : {"avgpool", "maxpool"})
    for (const char* gqa : {"repeat", "mean"}) check_method_keeps_reference_rows(pooling, gqa);
}

TEST(SnapKV, PromptShorterThanTheCapacityIsNotCompressed) {
  const test::LayerSequence seq = test::random_onehot_sequence(2, 2, 21, 32, 3);
  ModelConfig config;
  config.num_layers = 1;
  config.head_dim = 32;
  auto method = test::make_method("snapkv", {{"max_capacity_prompt", 21}, {"window_size", 4}});
  method->reset({config.kv_shape(), nullptr, nullptr}, 1, 21);
  method->attend(seq.call(0, 20, AttentionPhase::kPrefill, true));  // S = 20 < C = 21
  at::Tensor out = method->attend(seq.call(20, 1, AttentionPhase::kDecode));
  EXPECT_EQ(test::attended_positions(out, 0).size(), 21u);
}

TEST(SnapKV, BadParametersAreConfigErrors) {
  EXPECT_THROW(test::make_method("snapkv", {{"max_capacity_prompt", 16}, {"window_size", 32}}), Error);
  EXPECT_THROW(test::make_method("snapkv", {{"kernel_size", 4}}), Error);
  EXPECT_THROW(test::make_method("snapkv", {{"max_capacity_prompt", "abc"}}), Error);
  EXPECT_THROW(test::make_method("snapkv", {{"gqa", "max"}}), Error);
  EXPECT_NO_THROW(test::make_method("snapkv", {{"max_capacity_prompt", "12.5%"}}));
}

TEST(PyramidKV, ScheduleFollowsTheReferenceFormula) {
  // C 2048, w 64, beta 20, 32 layers, S 10000: base 1984, min 1984 // 20 = 99, max 2 * 1984 - 99 =
  // 3869 (< S - w), steps (3869 - 99) // 31 = 121: layer l keeps 3869 - 121 l.
  for (int64_t l : {0, 1, 17, 31}) {
    const SnapLayerPlan plan = pyramidkv_plan(l, 32, 64, 20, 10000, 2048);
    EXPECT_TRUE(plan.compress);
    EXPECT_EQ(plan.window, 64);
    EXPECT_EQ(plan.selected, 3869 - 121 * l) << l;
  }
  // S 3000 < 2 (C - w) = 3968: plain SnapKV, C - w in every layer.
  EXPECT_EQ(pyramidkv_plan(5, 32, 64, 20, 3000, 2048).selected, 1984);
  // S 2000 < C: no compression.
  EXPECT_FALSE(pyramidkv_plan(5, 32, 64, 20, 2000, 2048).compress);
  // C 200, w 64, S 300, 4 layers: base 136, min 6, max 266 >= S - w = 236, so max 236, min 272 -
  // 236 = 36, steps 200 // 3 = 66: 236, 170, 104, 38.
  const std::vector<int64_t> want = {236, 170, 104, 38};
  for (int64_t l = 0; l < 4; ++l) EXPECT_EQ(pyramidkv_plan(l, 4, 64, 20, 300, 200).selected, want[l]) << l;
}

TEST(PyramidKV, LayersKeepTheirScheduledRows) {
  // Two layers fed the same tensors: C 20, w 4, S 40 >= 2 (C - w) = 32; beta 20: min 0, max 32 >=
  // S - w = 36? no: max 32, steps 32: layer 0 keeps 32 prefix rows, layer 1 keeps 0.
  const int64_t hq = 2, hkv = 1, s = 40, w = 4, d = 64;
  const test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, s + 1, d, 9);
  ModelConfig config;
  config.num_layers = 2;
  config.head_dim = d;
  auto method = test::make_method("pyramidkv", {{"max_capacity_prompt", 20}, {"window_size", w}, {"gqa", "mean"}});
  method->reset({config.kv_shape(), nullptr, nullptr}, 1, s + 1);
  for (int64_t l = 0; l < 2; ++l) method->attend(seq.call(0, s, AttentionPhase::kPrefill, true, l));
  const std::vector<int64_t> selected = {32, 0};
  for (int64_t l = 0; l < 2; ++l) {
    at::Tensor out = method->attend(seq.call(s, 1, AttentionPhase::kDecode, true, l));
    const auto chosen = reference_selection(seq, s, w, selected[static_cast<size_t>(l)], 5, true, false)[0];
    test::PositionSet want(chosen.begin(), chosen.end());
    for (int64_t p = s - w; p <= s; ++p) want.insert(p);
    EXPECT_EQ(test::attended_positions(out, 0), want) << "layer " << l;
    EXPECT_EQ(method->memory().layer_budgets[static_cast<size_t>(l)].selected, selected[static_cast<size_t>(l)]);
  }
}

TEST(SnapKV, CapacityCoveringThePromptEqualsFullCacheOnEveryTinyModel) {
  // Capacity = the prompt: compression runs and keeps every row (through scoring and keep()); a
  // capacity above the prompt skips it.
  for (const char* gqa : {"repeat", "mean"})
    test::expect_equivalent_to_full("snapkv", {{"gqa", gqa}, {"max_capacity_prompt", "100%"}});
  test::expect_equivalent_to_full("snapkv", {});
  test::EquivalenceOptions options;
  options.prompt_tokens = 150;
  options.prefill_chunk = 64;
  options.max_new_tokens = 8;
  test::expect_equivalent_to_full("snapkv", {{"max_capacity_prompt", 151}}, options);
  test::expect_equivalent_to_full("pyramidkv", {{"max_capacity_prompt", "100%"}}, options);
}

}  // namespace
}  // namespace kvbench
