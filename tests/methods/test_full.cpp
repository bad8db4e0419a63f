// SPDX-License-Identifier: Apache-2.0
// The "full" KV method: registration, exactness of its attention against a hand-written masked
// softmax (prefill chunks, decode steps, GQA, left padding) and its memory accounting (K/V vs
// validity-row bytes, layer budgets).
#include "harness/kv/method.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kvbench {
namespace {

// softmax(q k^T * scale + mask) v with K/V repeated to the query heads, all in fp64.
at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                     double scale) {
  const int64_t group = q.size(1) / k.size(1);
  at::Tensor kr = k.to(at::kDouble).repeat_interleave(group, 1);
  at::Tensor vr = v.to(at::kDouble).repeat_interleave(group, 1);
  at::Tensor scores = at::matmul(q.to(at::kDouble), kr.transpose(-1, -2)) * scale;  // [B, H, T, S]
  scores = scores.masked_fill(allowed.unsqueeze(1).logical_not(), -INFINITY);
  return at::matmul(at::softmax(scores, -1), vr);
}

TEST(FullMethod, Registered) {
  const auto* entry = KVMethodRegistry::instance().find("full");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->description.empty());
  EXPECT_TRUE(entry->params.empty());
  EXPECT_NE(entry->make(nlohmann::json::object()), nullptr);
}

TEST(FullMethod, ExactOverChunksDecodeAndPadding) {
  ModelView view;
  view.shape.num_layers = 2;
  const int64_t b = 2, hq = 4, hkv = 2, d = 16, prompt = 9, steps = 3;
  const double scale = 1.0 / std::sqrt(16.0);
  at::manual_seed(3);
  // Sequence 0 has 3 padding slots on the left, sequence 1 none.
  at::Tensor valid_all = at::ones({b, prompt + steps}, at::kBool);
  valid_all[0].narrow(0, 0, 3).fill_(false);
  at::Tensor keys = at::randn({b, hkv, prompt + steps, d}), values = at::randn({b, hkv, prompt + steps, d});
  at::Tensor queries = at::randn({b, hq, prompt + steps, d});

  auto method = KVMethodRegistry::instance().find("full")->make({});
  method->reset(view, b, 4);  // smaller than needed: the cache must grow
  auto run = [&](int64_t begin, int64_t n, AttentionPhase phase) {
    for (int64_t layer = 0; layer < 2; ++layer) {
      AttentionCall call;
      call.layer = layer;
      call.phase = phase;
      call.slot_offset = begin;
      call.query = queries.narrow(2, begin, n);
      call.key = keys.narrow(2, begin, n);
      call.key_pre_rope = call.key;
      call.value = values.narrow(2, begin, n);
      call.valid = valid_all.narrow(1, begin, n);
      call.positions = at::zeros({b, n}, at::kLong);
      call.batch_has_padding = true;
      call.scale = scale;
      at::Tensor out = method->attend(call);
      ASSERT_EQ(out.sizes(), (std::vector<int64_t>{b, hq, n, d}));
      // Allowed: valid keys at slots <= the query's slot; padding queries see themselves only.
      const int64_t s = begin + n;
      at::Tensor q_slot = at::arange(begin, s).unsqueeze(1), k_slot = at::arange(0, s).unsqueeze(0);
      at::Tensor allowed = (k_slot <= q_slot).unsqueeze(0).logical_and(valid_all.narrow(1, 0, s).unsqueeze(1))
                               .logical_or((k_slot == q_slot).unsqueeze(0));
      at::Tensor expected = reference(call.query, keys.narrow(2, 0, s), values.narrow(2, 0, s), allowed, scale);
      // Padding query rows are don't-care; compare the real ones.
      at::Tensor real = valid_all.narrow(1, begin, n).unsqueeze(1).unsqueeze(-1);
      EXPECT_LT(((out.to(at::kDouble) - expected) * real).abs().max().item<double>(), 1e-5)
          << "layer " << layer << " slots " << begin << ".." << s;
    }
  };
  run(0, 4, AttentionPhase::kPrefill);
  run(4, 5, AttentionPhase::kPrefill);
  for (int64_t i = 0; i < steps; ++i) run(prompt + i, 1, AttentionPhase::kDecode);

  KVMemory m = method->memory();
  // Last token: sequence 0 attends 12-3 valid slots, sequence 1 all 12.
  EXPECT_DOUBLE_EQ(m.tokens_attended, (9.0 + 12.0) / 2);
  EXPECT_EQ(m.host_bytes, 0);
  // Capacity grew 4 -> 9 -> 18: K and V fp32 + the bool validity row, per layer.
  const int64_t per_layer = 2 * b * hkv * 18 * d * 4 + b * 18;
  EXPECT_EQ(m.device_bytes, 2 * per_layer);
  EXPECT_EQ(m.kv_device_bytes, 2 * (2 * b * hkv * 18 * d * 4));
  EXPECT_EQ(m.metadata_device_bytes, 2 * (b * 18));
  EXPECT_EQ(m.peak_device_bytes, m.device_bytes);
  // Budgets: prompt tokens as `local` (valid ones, mean over sequences (6 + 9) / 2 rounded), the 3
  // decode tokens as `generated`.
  ASSERT_EQ(m.layer_budgets.size(), 2u);
  for (const LayerBudget& budget : m.layer_budgets) {
    EXPECT_EQ(budget.local, 8);
    EXPECT_EQ(budget.generated, steps);
    EXPECT_EQ(budget.sink + budget.outliers + budget.selected, 0);
  }
}

}  // namespace
}  // namespace kvbench
