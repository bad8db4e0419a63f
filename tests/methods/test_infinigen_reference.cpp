// SPDX-License-Identifier: Apache-2.0
// infinigen against the reference code: scripts/reference/infinigen_reference.py re-writes the
// InfiniGen setup scripts (skewing matrix, partial channels) and the study's Llama-3 port
// (speculation from the previous layer's hidden state, top-k of the partial scores) and runs them on
// random tensors in the test venv. The same tensors drive the infinigen method through a stand-in
// ModelView (a 2-layer model whose calibration pass yields the script's calibration rows and whose
// layer-1 query projection is the script's W_q): the rows layer 1 attends at the decode step, read
// exactly from one-hot values, must be the script's selection for every query head.
#include "harness/kv/method.h"
#include "harness/kv/rope.h"
#include "methods/infinigen_calibration.h"
#include "tests/methods/attention_calls.h"
#include "tests/methods/eviction_reference.h"
#include "tests/methods/json_tensor.h"
#include "tests/methods/method_equivalence.h"
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <vector>

namespace kvbench {
namespace {

// One layer's whole-sequence prefill call (positions 0..n-1), as the model issues it.
AttentionCall prefill_call(int64_t layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  const int64_t n = k.size(2);
  return test::LayerSequence{q, k, k, v, at::arange(n, at::kLong).unsqueeze(0), scale}.call(
      0, n, AttentionPhase::kPrefill, /*last_prefill_chunk=*/true, layer);
}

TEST(InfiniGenReference, SkewChannelsAndSpeculativeSelectionMatchTheReferenceCode) {
  const nlohmann::json ref = test::seeded_reference("infinigen_reference.py");
  const int64_t hq = ref["num_heads"], hkv = ref["num_kv_heads"], d = ref["head_dim"], hidden = ref["hidden"];
  const int64_t prompt = ref["prompt"], n = ref["calibration_tokens"];
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const at::Tensor calib_q = test::tensor_from_json(ref["calib_q"], {hq, n, d}), calib_k = test::tensor_from_json(ref["calib_k"], {hkv, n, d});
  const at::Tensor w_q = test::tensor_from_json(ref["w_q"], {hq * d, hidden});
  const at::Tensor previous_hidden = test::tensor_from_json(ref["previous_hidden"], {1, 1, hidden});
  const at::Tensor keys = test::tensor_from_json(ref["keys"], {1, hkv, prompt + 1, d});
  const at::Tensor ref_a = test::tensor_from_json(ref["skewing_matrix"], {hq, d, d});
  const at::Tensor ref_mask = test::tensor_from_json(ref["mask"], {hq, d});
  // Both sides' boundaries are clear of rounding: channel masses (sums of 256 |.| terms, fp32
  // relative error ~n eps = 3e-5 of values ~10) and partial scores (~w eps = 3e-6 of values ~1)
  // against the script's margins.
  ASSERT_GT(ref["mass_margin"].get<double>(), 1e-2);
  ASSERT_GT(ref["margin"].get<double>(), 1e-4);

  // Setup: the channel masks equal exactly; A's dominant columns (column order[j] holds singular
  // vector j, j < 8 the largest) equal up to sign. Column j's
  // singular vector is determined to ~d eps s_max / gap_j (Davis-Kahan with a backward-stable SVD);
  // for the 8 largest singular values of the 0.9-decay spectrum the relative gaps are ~10 %, so
  // 1e-3 is far above that and far below a wrong or permuted column (|cos| <= ~0.3 for random ones).
  const at::Tensor k_rep = calib_k.repeat_interleave(hq / hkv, 0);
  const at::Tensor a = infinigen::skewing_matrices(calib_q, k_rep);
  const at::Tensor mask = infinigen::partial_channel_mask(at::matmul(calib_q, a), at::matmul(k_rep, a), 0.2);
  EXPECT_TRUE(at::equal(mask, ref_mask.to(at::kBool)));
  const at::Tensor cosines = at::matmul(a.transpose(1, 2), ref_a).diagonal(0, 1, 2).abs();  // [Hq, d]
  const at::Tensor order = std::get<1>(at::sort(at::linalg_svdvals(calib_q) * at::linalg_svdvals(k_rep), true, -1, false));
  for (int64_t h = 0; h < hq; ++h)
    for (int64_t j = 0; j < 8; ++j) EXPECT_GT(cosines[h][order[h][j]].item<double>(), 1 - 1e-3) << h << " " << j;

  // The method on a stand-in 2-layer model: layer 0 dense, layer 1 speculated from layer 0's input.
  ModelView view;
  view.shape = KVShape{2, hq, hkv, d};
  const Rope rope(RopeConfig{}, d, at::kCPU);  // default RoPE, theta 10000 as the script
  view.rope = &rope;
  view.project_query = [&](int64_t layer, const at::Tensor& h) {
    EXPECT_EQ(layer, 1);
    return at::linear(h, w_q).view({1, h.size(1), hq, d}).transpose(1, 2);
  };
  at::manual_seed(5);
  view.forward_tokens = [&](const std::vector<int64_t>&, KVMethod& observer) {
    observer.attend(prefill_call(0, at::randn({1, hq, n, d}), at::randn({1, hkv, n, d}), at::randn({1, hkv, n, d}), scale));
    observer.attend(prefill_call(1, calib_q.unsqueeze(0), calib_k.unsqueeze(0), at::randn({1, hkv, n, d}), scale));
  };
  auto method = test::make_method("infinigen", {{"budget", ref["budget"]}, {"alpha", 99}, {"dense_layers", 1},
                                                {"calibration_tokens", n}});
  method->reset(view, 1, prompt + 1);
  const at::Tensor values = test::onehot_values(hkv, prompt + 1, d);  // slot j -> e_j (prompt + 1 <= d)
  for (int64_t layer = 0; layer < 2; ++layer)
    method->attend(prefill_call(layer, at::randn({1, hq, prompt, d}), keys.narrow(2, 0, prompt),
                                values.narrow(2, 0, prompt), scale));
  AttentionCall step = prefill_call(0, at::randn({1, hq, 1, d}), at::randn({1, hkv, 1, d}), at::randn({1, hkv, 1, d}), scale);
  step.phase = AttentionPhase::kDecode;
  step.slot_offset = prompt;
  step.positions = at::full({1, 1}, prompt, at::kLong);
  step.hidden = previous_hidden;  // layer 0's normalized input: what layer 1 speculates from
  method->attend(step);
  step.layer = 1;
  step.key = step.key_pre_rope = keys.narrow(2, prompt, 1);
  step.value = values.narrow(2, prompt, 1);
  step.hidden = at::randn({1, 1, hidden});
  const at::Tensor attended = method->attend(step);
  for (int64_t h = 0; h < hq; ++h) {
    const auto expected = ref["selected"][h].get<std::vector<int64_t>>();
    ASSERT_EQ(static_cast<int64_t>(expected.size()), ref["fetch_max"].get<int64_t>());
    EXPECT_EQ(test::attended_positions(attended, h), test::PositionSet(expected.begin(), expected.end())) << "head " << h;
  }
  EXPECT_EQ(method->memory().layer_budgets.at(1).selected, ref["fetch_max"].get<int64_t>());
}

}  // namespace
}  // namespace kvbench
