// SPDX-License-Identifier: Apache-2.0
// tova: the rows kept at the end of the prompt and after every decode step equal an fp64 simulation
// of the rule (the current query's softmax averaged over all query heads, top cache_size, one set per
// layer shared by the KV heads, ties to the lower slot), read exactly from one-hot values; with a
// cache covering the sequence it reproduces the full cache on every tiny model.
#include "tests/methods/eviction_reference.h"
#include "tests/methods/method_equivalence.h"

#include <gtest/gtest.h>

#include <vector>

namespace kvbench {
namespace {

// Mean over query heads of query p's probabilities over the cached positions.
std::vector<double> mean_attention(const test::LayerSequence& seq, const std::vector<int64_t>& cache, int64_t p) {
  const int64_t hq = seq.query.size(1), group = hq / seq.key.size(1);
  std::vector<double> mean(cache.size(), 0.0);
  for (int64_t h = 0; h < hq; ++h) {
    auto probs = test::dense_probabilities(seq.query[0][h][p], seq.key[0][h / group], cache, seq.scale);
    for (size_t i = 0; i < probs.size(); ++i) mean[i] += probs[i] / static_cast<double>(hq);
  }
  return mean;
}

void reduce(const test::LayerSequence& seq, std::vector<int64_t>& cache, int64_t p, int64_t size) {
  if (static_cast<int64_t>(cache.size()) <= size) return;
  std::vector<int64_t> kept;
  for (int64_t i : test::reference_top(mean_attention(seq, cache, p), size)) kept.push_back(cache[static_cast<size_t>(i)]);
  cache = kept;
}

TEST(Tova, KeepsTheRowsTheCurrentQueryAttendsMost) {
  const int64_t hq = 4, hkv = 2, s = 30, steps = 8, d = 64, size = 12;
  const test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, s + steps, d, 33);
  ModelConfig config;
  config.num_layers = 1;
  config.head_dim = d;
  auto method = test::make_method("tova", {{"cache_size", size}});
  method->reset({config.kv_shape(), nullptr, nullptr}, 1, s + steps);
  method->attend(seq.call(0, 13, AttentionPhase::kPrefill, false));
  method->attend(seq.call(13, s - 13, AttentionPhase::kPrefill, true));

  std::vector<int64_t> cache(s);
  std::iota(cache.begin(), cache.end(), 0);
  reduce(seq, cache, s - 1, size);  // the last prompt query ranks the prompt
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t p = s + step;
    at::Tensor out = method->attend(seq.call(p, 1, AttentionPhase::kDecode));
    cache.push_back(p);
    const test::PositionSet attended(cache.begin(), cache.end());
    for (int64_t h = 0; h < hq; ++h) EXPECT_EQ(test::attended_positions(out, h), attended) << "step " << step;
    reduce(seq, cache, p, size);
    int64_t generated = 0;
    for (int64_t pos : cache) generated += pos >= s ? 1 : 0;
    const KVMemory m = method->memory();
    ASSERT_EQ(m.layer_budgets.size(), 1u);
    EXPECT_EQ(m.layer_budgets[0].generated, generated);
    EXPECT_EQ(m.layer_budgets[0].selected, size - generated);
  }
  EXPECT_EQ(method->stats()["evicted_rows"], s - size + steps);
  EXPECT_EQ(method->memory().kv_device_bytes, 2 * hkv * (size + 1) * d * 4);
  EXPECT_GE(method->memory().peak_device_bytes, 2 * hkv * s * d * 4);  // the prompt before the first reduce
}

TEST(Tova, CacheCoveringTheSequenceEqualsFullCacheOnEveryTinyModel) {
  test::expect_equivalent_to_full("tova", {{"cache_size", 4096}});
  test::EquivalenceOptions options;
  options.prompt_tokens = 150;
  options.prefill_chunk = 64;
  options.max_new_tokens = 8;
  test::expect_equivalent_to_full("tova", {{"cache_size", 158}}, options);
}

}  // namespace
}  // namespace kvbench
