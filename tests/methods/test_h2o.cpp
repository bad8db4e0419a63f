// SPDX-License-Identifier: Apache-2.0
// h2o: the rows kept at every decode step equal an fp64 simulation of the rule (accumulated
// attention over all past queries per query head, summed over each KV head's group; heavy hitters
// among all but the last `recent` rows, ties to the lower slot), read exactly from one-hot values;
// the cache holds heavy + recent rows after each step; with budgets covering the sequence it
// reproduces the full cache on every tiny model.
#include "methods/eviction_scoring.h"
#include "tests/methods/eviction_reference.h"
#include "tests/methods/method_equivalence.h"

#include <gtest/gtest.h>

#include <vector>

namespace kvbench {
namespace {

// One KV head's cache in the fp64 simulation: positions in slot order and their accumulated scores.
struct ReferenceHead {
  std::vector<int64_t> positions;
  std::vector<double> scores;
};

// Query at position p attends the head's rows (all of them: they precede or equal p); adds its
// probabilities to the scores.
void accumulate(const test::LayerSequence& seq, ReferenceHead& head, int64_t kv, int64_t p, int64_t group,
                int64_t visible) {
  std::vector<int64_t> rows(head.positions.begin(), head.positions.begin() + visible);
  for (int64_t g = 0; g < group; ++g) {
    auto probs = test::dense_probabilities(seq.query[0][kv * group + g][p], seq.key[0][kv], rows, seq.scale);
    for (size_t i = 0; i < probs.size(); ++i) head.scores[i] += probs[i];
  }
}

void evict(ReferenceHead& head, int64_t heavy, int64_t recent) {
  const int64_t n = static_cast<int64_t>(head.positions.size());
  if (n <= heavy + recent) return;
  std::vector<double> candidates(head.scores.begin(), head.scores.end() - recent);
  std::vector<int64_t> keep = test::reference_top(candidates, heavy);
  for (int64_t i = n - recent; i < n; ++i) keep.push_back(i);
  ReferenceHead kept;
  for (int64_t i : keep) {
    kept.positions.push_back(head.positions[static_cast<size_t>(i)]);
    kept.scores.push_back(head.scores[static_cast<size_t>(i)]);
  }
  head = kept;
}

TEST(H2O, KeepsTheReferenceHeavyHittersAndRecentWindow) {
  const int64_t hq = 4, hkv = 2, group = 2, s = 30, steps = 8, d = 64, heavy = 6, recent = 4;
  const test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, s + steps, d, 21);
  ModelConfig config;
  config.num_layers = 1;
  config.head_dim = d;
  auto method = test::make_method("h2o", {{"heavy_budget", heavy}, {"recent_budget", recent}});
  method->reset({config.kv_shape(), nullptr, nullptr}, 1, s + steps);
  method->attend(seq.call(0, 17, AttentionPhase::kPrefill, false));
  method->attend(seq.call(17, s - 17, AttentionPhase::kPrefill, true));

  std::vector<ReferenceHead> heads(hkv);
  for (int64_t kv = 0; kv < hkv; ++kv) {
    ReferenceHead& head = heads[static_cast<size_t>(kv)];
    for (int64_t p = 0; p < s; ++p) {
      head.positions.push_back(p);
      head.scores.push_back(0.0);
      accumulate(seq, head, kv, p, group, p + 1);  // causal prefill: query p sees rows 0..p
    }
    evict(head, heavy, recent);
  }
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t p = s + step;
    at::Tensor out = method->attend(seq.call(p, 1, AttentionPhase::kDecode));
    double generated = 0, local = 0;  // sums over KV heads of their rows' roles
    for (int64_t kv = 0; kv < hkv; ++kv) {
      ReferenceHead& head = heads[static_cast<size_t>(kv)];
      head.positions.push_back(p);
      head.scores.push_back(0.0);
      const test::PositionSet attended(head.positions.begin(), head.positions.end());
      for (int64_t g = 0; g < group; ++g)
        EXPECT_EQ(test::attended_positions(out, kv * group + g), attended) << "step " << step << " kv " << kv;
      accumulate(seq, head, kv, p, group, static_cast<int64_t>(head.positions.size()));
      evict(head, heavy, recent);
      int64_t head_generated = 0;
      for (int64_t pos : head.positions) head_generated += pos >= s ? 1 : 0;
      generated += static_cast<double>(head_generated);
      local += static_cast<double>(std::max<int64_t>(0, recent - head_generated));  // prompt rows in the window
    }
    const KVMemory m = method->memory();
    ASSERT_EQ(m.layer_budgets.size(), 1u);
    EXPECT_EQ(m.layer_budgets[0].total(), heavy + recent);
    EXPECT_EQ(m.layer_budgets[0].generated, std::llround(generated / hkv)) << step;
    EXPECT_EQ(m.layer_budgets[0].local, std::llround(local / hkv)) << step;
  }
  EXPECT_EQ(method->stats()["evicted_rows"], (s - heavy - recent + steps) * hkv);
  // K, V rows (fp32) and the fp32 score of heavy + recent + 1 slots per KV head.
  EXPECT_EQ(method->memory().kv_device_bytes, 2 * hkv * (heavy + recent + 1) * d * 4);
  EXPECT_EQ(method->memory().metadata_device_bytes, hkv * (heavy + recent + 1) * 4);
  // The peak saw the whole prompt's K/V before the first eviction.
  EXPECT_GE(method->memory().peak_device_bytes, 2 * hkv * s * d * 4);
}

TEST(H2O, AttentionColumnSumsMatchDenseLoops) {
  const int64_t hq = 4, hkv = 2, s = 19, d = 8;
  const test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, s, d, 4);
  // Queries at slots 12..18 over keys 0..18, causal.
  at::Tensor sums = attention_column_sums(seq.query.narrow(2, 12, 7), seq.key, 12, seq.scale);
  for (int64_t h = 0; h < hq; ++h) {
    std::vector<double> want(s, 0.0);
    for (int64_t p = 12; p < s; ++p) {
      std::vector<int64_t> rows(static_cast<size_t>(p + 1));
      std::iota(rows.begin(), rows.end(), 0);
      auto probs = test::dense_probabilities(seq.query[0][h][p], seq.key[0][h / 2], rows, seq.scale);
      for (size_t j = 0; j < probs.size(); ++j) want[j] += probs[j];
    }
    // <= 7 probabilities per entry, each within ~S * eps_fp32 relative: 1e-5 is far above.
    for (int64_t j = 0; j < s; ++j) EXPECT_NEAR(sums[0][h][j].item<double>(), want[static_cast<size_t>(j)], 1e-5);
  }
}

TEST(H2O, BudgetsCoveringTheSequenceEqualFullCacheOnEveryTinyModel) {
  test::expect_equivalent_to_full("h2o", {{"heavy_budget", 4096}, {"recent_budget", 0}});
  test::EquivalenceOptions options;
  options.prompt_tokens = 150;
  options.prefill_chunk = 64;
  options.max_new_tokens = 8;
  test::expect_equivalent_to_full("h2o", {{"heavy_budget", 100}, {"recent_budget", 58}}, options);
}

}  // namespace
}  // namespace kvbench
