// SPDX-License-Identifier: Apache-2.0
// Acceptance 3 for snapkv: kvpress's SnapKVPress (PyPI kvpress 0.5.5, run by
// scripts/reference/kvpress_snapkv_reference.py) and kvbench agree on the same random queries/keys.
// kvpress scores like snapkv's `gqa: mean` mode: window softmax with a causal mask inside the window,
// pooled (avg, kernel 5), averaged over each KV head's group; it takes the mean over the window's
// queries where SnapKV sums (a constant factor 1/w that changes no ranking). Checked: the pooled
// per-KV-head scores (ours / w) against kvpress's, and the rows the snapkv method keeps, read exactly
// from one-hot values, against the rows kvpress's compress() keeps at compression ratio 0.5.
#include "methods/eviction_scoring.h"
#include "tests/methods/eviction_reference.h"
#include "tests/methods/json_tensor.h"
#include "tests/methods/method_equivalence.h"
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <vector>

namespace kvbench {
namespace {

TEST(SnapKVKvpress, ScoresAndKeptRowsMatchKvpressSnapKVPress) {
  const nlohmann::json ref = test::seeded_reference("kvpress_snapkv_reference.py");
  const int64_t hq = ref["num_heads"], hkv = ref["num_kv_heads"], s = ref["seq_len"], d = ref["head_dim"];
  const int64_t w = ref["window_size"], kernel = ref["kernel_size"], n_kept = ref["n_kept"];
  at::Tensor q = test::tensor_from_json(ref["queries"], {1, hq, s, d});
  at::Tensor k = test::tensor_from_json(ref["keys"], {1, hkv, s, d});
  at::Tensor kvpress_scores = test::tensor_from_json(ref["scores"], {1, hkv, s});
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));

  // Scores: ours summed over the window, kvpress's averaged; both fp32 with a different operation
  // order, each entry a mean of probabilities <= 1 computed to ~S * eps_fp32 (6e-6): 2e-5 bounds it.
  at::Tensor ours = group_mean(snapkv_pool(snapkv_window_scores(q.narrow(2, s - w, w), k, scale), kernel,
                                           SnapPooling::kAvg),
                               hkv) / static_cast<double>(w);
  EXPECT_LT((ours - kvpress_scores.narrow(2, 0, s - w)).abs().max().item<double>(), 2e-5);

  // Kept rows: drive the method on the same q/k (one-hot values, one extra decode token).
  at::manual_seed(1);
  test::LayerSequence seq{at::cat({q, at::randn({1, hq, 1, d})}, 2), at::Tensor(),
                          at::cat({k, at::randn({1, hkv, 1, d})}, 2), test::onehot_values(hkv, s + 1, d),
                          at::arange(s + 1, at::kLong).unsqueeze(0), scale};
  seq.key_pre_rope = seq.key;
  ModelConfig config;
  config.num_layers = 1;
  config.head_dim = d;
  auto method = test::make_method("snapkv", {{"max_capacity_prompt", n_kept}, {"window_size", w}, {"gqa", "mean"}});
  method->reset({config.kv_shape(), nullptr, nullptr}, 1, s + 1);
  method->attend(seq.call(0, s, AttentionPhase::kPrefill, true));
  at::Tensor attended = method->attend(seq.call(s, 1, AttentionPhase::kDecode));
  for (int64_t kv = 0; kv < hkv; ++kv) {
    const auto kept = ref["kept"][kv].get<std::vector<int64_t>>();
    ASSERT_EQ(static_cast<int64_t>(kept.size()), n_kept);
    // kvpress's boundary is clear of near ties (reference_top checks the margin on its scores).
    std::vector<double> prefix(static_cast<size_t>(s - w));
    for (int64_t j = 0; j < s - w; ++j) prefix[static_cast<size_t>(j)] = kvpress_scores[0][kv][j].item<double>();
    auto top = test::reference_top(prefix, n_kept - w, 1e-4);
    for (int64_t j = s - w; j < s; ++j) top.push_back(j);
    EXPECT_EQ(top, kept) << "kvpress keeps its top-scored rows and the window";
    test::PositionSet want(kept.begin(), kept.end());
    want.insert(s);
    for (int64_t g = 0; g < hq / hkv; ++g)
      EXPECT_EQ(test::attended_positions(attended, kv * (hq / hkv) + g), want) << "kv head " << kv;
  }
}

}  // namespace
}  // namespace kvbench
