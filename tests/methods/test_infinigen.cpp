// SPDX-License-Identifier: Apache-2.0
// infinigen: the skewing matrix is orthogonal with the reference's column order and keeps every
// score; the partial channels, speculative scores and per-head token choice equal a dense LibTorch
// reference of the rule on random tensors (padding and the alpha cap included); with a budget
// covering the sequence the method reproduces the full cache on every tiny checkpoint; its memory
// record equals the analytic formulas (harness/kv/memory_formulas.h) step by step.
#include "harness/error.h"
#include "harness/kv/memory_formulas.h"
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "methods/infinigen_calibration.h"
#include "methods/infinigen_speculation.h"
#include "tests/methods/method_equivalence.h"
#include "tests/model/tiny_models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

namespace kvbench {
namespace {

constexpr double kEps = 1.1920928955078125e-7;  // fp32 machine epsilon, 2^-23

// Rows with a decaying spectrum (as real queries/keys have a few dominant directions), [H, n, d].
at::Tensor structured_rows(int64_t h, int64_t n, int64_t d) {
  at::Tensor scale = at::pow(at::full({d}, 0.9), at::arange(d, at::kFloat)).to(at::kFloat);
  at::Tensor basis = std::get<0>(at::linalg_qr(at::randn({h, d, d})));  // random orthogonal mixing
  return at::matmul(at::randn({h, n, d}) * scale, basis.transpose(1, 2));
}

TEST(InfiniGen, SkewingMatrixIsOrthogonalKeepsScoresAndOrdersColumnsAsTheReference) {
  at::manual_seed(11);
  const int64_t h = 3, n = 256, d = 64;
  const at::Tensor q = structured_rows(h, n, d), k = structured_rows(h, n, d);
  const at::Tensor a = infinigen::skewing_matrices(q, k);  // [H, d, d]
  ASSERT_EQ(a.sizes(), (at::IntArrayRef{h, d, d}));
  // Orthogonality: A's columns are the right singular vectors of a backward-stable SVD (Householder
  // bidiagonalization + QR iteration), orthonormal to a small multiple of d * eps per entry of
  // A^T A - I; 10 * d * eps (7.6e-5 at d = 64) leaves ample room for any LAPACK build, while a wrong
  // scatter (a repeated or missing column) breaks it by O(1).
  const at::Tensor eye = at::eye(d).expand({h, d, d});
  EXPECT_LE((at::matmul(a.transpose(1, 2), a) - eye).abs().max().item<double>(), 10 * d * kEps);
  // (QA)(KA)^T = Q K^T: each score is a d-term dot product of rotated rows; with A orthogonal to
  // delta = 10 d eps, each entry moves by at most |q||k| (delta + 2 d eps) for the two products'
  // rounding, hence 16 d eps |q_i||k_j|.
  const at::Tensor skewed = at::matmul(at::matmul(q, a), at::matmul(k, a).transpose(1, 2));
  const at::Tensor plain = at::matmul(q, k.transpose(1, 2));
  const at::Tensor norms = at::matmul(q.norm(2, -1, true), k.norm(2, -1, true).transpose(1, 2));
  EXPECT_LE(((skewed - plain).abs() / norms).max().item<double>(), 16 * d * kEps);
  // Column order: column order[j] of A is v_j (the j-th right singular vector of Q), order = the
  // ascending sort of s_q * s_k, so that column of QA has norm s_q[j] (sign-independent check).
  const at::Tensor sq = at::linalg_svdvals(q), sk = at::linalg_svdvals(k);
  const at::Tensor order = std::get<1>(at::sort(sq * sk, /*stable=*/true, -1, false));
  const at::Tensor column_norms = at::matmul(q, a).norm(2, 1);  // [H, d]
  const at::Tensor expected = at::zeros_like(column_norms).scatter_(1, order, sq);
  // Backward-stable SVD: singular values and vectors accurate to a small multiple of d * eps * s_max;
  // the n-term products add n * eps relative; 4 n eps (n >= d) bounds both relative to s_max.
  EXPECT_LE(((column_norms - expected).abs() / sq.select(1, 0).unsqueeze(1)).max().item<double>(), 4 * n * kEps);
  // The decaying spectrum puts the dominant direction last, as in the reference's scatter.
  EXPECT_EQ(order.select(1, 0).eq(d - 1).all().item<bool>(), true);
}

TEST(InfiniGen, PartialChannelsAreTheUnionOfTheTopQueryAndKeyChannels) {
  at::manual_seed(12);
  const int64_t h = 4, n = 100, d = 128;
  const at::Tensor qs = at::randn({h, n, d}) * at::rand({h, 1, d}), ks = at::randn({h, n, d}) * at::rand({h, 1, d});
  const at::Tensor mask = infinigen::partial_channel_mask(qs, ks, 0.2);
  const int64_t top = 25;  // int(128 * 0.2)
  for (int64_t head = 0; head < h; ++head) {
    std::set<int64_t> expected;
    for (const at::Tensor& rows : {qs, ks}) {
      const at::Tensor idx = std::get<1>(at::topk(rows[head].abs().sum(0), top));
      for (int64_t i = 0; i < top; ++i) expected.insert(idx[i].item<int64_t>());
    }
    std::set<int64_t> got;
    for (int64_t c = 0; c < d; ++c)
      if (mask[head][c].item<bool>()) got.insert(c);
    EXPECT_EQ(got, expected) << "head " << head;
  }
}

// The dense reference of one decode step of a sparse layer: the port's masked full-width skewed
// query against every skewed key (query head h -> KV head h / g), scaled, then per head the top
// fetch-count slots as a set. Counts: floor(budget * n_b), at least 1, capped by the truncated mean
// over heads of #{s >= max_h - alpha}.
std::vector<std::vector<std::set<int64_t>>> reference_selection(const at::Tensor& query, const at::Tensor& keys,
                                                                 const at::Tensor& valid, const at::Tensor& a,
                                                                 const at::Tensor& mask, double budget, double alpha) {
  const int64_t b = query.size(0), hq = query.size(1), hkv = keys.size(1), s = keys.size(2), d = query.size(3);
  std::vector<std::vector<std::set<int64_t>>> out(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) {
    std::vector<at::Tensor> head_scores;
    for (int64_t h = 0; h < hq; ++h) {
      const at::Tensor q = at::matmul(query[i][h][0].to(at::kDouble), a[h].to(at::kDouble)) * mask[h].to(at::kDouble);
      const at::Tensor k = at::matmul(keys[i][h / (hq / hkv)].to(at::kDouble), a[h].to(at::kDouble));  // [S, d]
      at::Tensor sc = at::matmul(k, q) / std::sqrt(static_cast<double>(d));
      sc.masked_fill_(valid[i].logical_not(), -std::numeric_limits<double>::infinity());
      head_scores.push_back(sc);
    }
    const int64_t n = valid[i].sum().item<int64_t>();
    int64_t count = std::min(std::max<int64_t>(static_cast<int64_t>(static_cast<double>(n) * budget), 1), n);
    double within = 0;
    for (const at::Tensor& sc : head_scores) within += (sc >= sc.max() - alpha).sum().item<double>();
    count = std::max<int64_t>(std::min(count, static_cast<int64_t>(within / static_cast<double>(hq))), 1);
    for (const at::Tensor& sc : head_scores) {
      // Well-posed only if the count-th and next score are apart by more than the method's fp32
      // rounding (w-term dot products: ~w eps |q'||k'|, far below 1e-4 here): checked, not assumed.
      const at::Tensor sorted = std::get<0>(at::sort(sc, -1, /*descending=*/true));
      if (count < n) {
        EXPECT_GT((sorted[count - 1] - sorted[count]).item<double>(), 1e-4) << "near-tie in the reference";
      }
      const at::Tensor idx = std::get<1>(at::topk(sc, count));
      std::set<int64_t> chosen;
      for (int64_t j = 0; j < count; ++j) chosen.insert(idx[j].item<int64_t>());
      out[static_cast<size_t>(i)].push_back(chosen);
    }
    (void)s;
  }
  return out;
}

// Random tensors, no exact ties (continuous values; ties would go to the lower slot, as
// topk_per_head documents, while at::topk leaves them unspecified).
TEST(InfiniGen, SpeculativeSelectionEqualsTheDenseReference) {
  at::manual_seed(13);
  const int64_t b = 2, hq = 6, hkv = 2, d = 64, s = 90;
  const at::Tensor calibration_q = structured_rows(hq, 300, d), calibration_k = structured_rows(hkv, 300, d);
  const infinigen::LayerSkew skew = infinigen::calibrate_layer(calibration_q, calibration_k, 0.2, at::kFloat);
  // The pieces the reference uses: full A and the channel mask of the same calibration.
  const at::Tensor k_rep = calibration_k.repeat_interleave(hq / hkv, 0);
  const at::Tensor a = infinigen::skewing_matrices(calibration_q, k_rep);
  const at::Tensor mask = infinigen::partial_channel_mask(at::matmul(calibration_q, a), at::matmul(k_rep, a), 0.2);
  for (int64_t h = 0; h < hq; ++h) EXPECT_EQ(skew.channels_per_head[h], mask[h].sum().item<int64_t>());
  EXPECT_GE(skew.width(), 12);  // int(64 * 0.2) at least
  const at::Tensor query = at::randn({b, hq, 1, d}), keys = at::randn({b, hkv, s, d});
  at::Tensor valid = at::ones({b, s}, at::kBool);
  valid[1].narrow(0, 0, 17).fill_(false);  // sequence 1 is left-padded: 73 valid slots
  const at::Tensor pq = infinigen::partial_query(query, skew.partial_skew);
  const at::Tensor pk = infinigen::partial_keys(keys, skew.partial_skew);
  const at::Tensor scores = infinigen::speculative_scores(pq, pk, valid, 1.0 / std::sqrt(static_cast<double>(d)));
  for (double budget : {0.2, 0.05, 1.0}) {
    for (double alpha : {99.0, 0.3}) {
      const infinigen::Selection sel = infinigen::select_tokens(scores, {s, s - 17}, budget, alpha);
      const auto expected = reference_selection(query, keys, valid, a, mask, budget, alpha);
      for (int64_t i = 0; i < b; ++i) {
        const int64_t count = sel.counts[static_cast<size_t>(i)];
        EXPECT_EQ(static_cast<int64_t>(expected[i][0].size()), count) << "budget " << budget << " alpha " << alpha;
        for (int64_t h = 0; h < hq; ++h) {
          std::set<int64_t> got;
          for (int64_t j = 0; j < count; ++j) got.insert(sel.slots[i][h][j].item<int64_t>());
          EXPECT_EQ(got, expected[i][h]) << "budget " << budget << " alpha " << alpha << " seq " << i << " head " << h;
          for (int64_t j = 1; j < count; ++j) EXPECT_LT(sel.slots[i][h][j - 1].item<int64_t>(), sel.slots[i][h][j].item<int64_t>());
        }
        if (sel.key_valid.defined()) {
          EXPECT_EQ(sel.key_valid[i].sum().item<int64_t>(), count);
        }
      }
      if (budget == 0.2 && alpha == 99.0) {
        EXPECT_EQ(sel.counts, (std::vector<int64_t>{18, 14}));  // int(90 * 0.2), int(73 * 0.2)
      }
    }
  }
  // Not vacuous: the partial score picks different rows than the full-channel score would.
  const at::Tensor full_scores = at::matmul(query, keys.repeat_interleave(hq / hkv, 1).transpose(2, 3)).squeeze(2);
  const at::Tensor full_choice = std::get<0>(at::sort(std::get<1>(at::topk(full_scores[0], 18)), -1));
  EXPECT_FALSE(at::equal(full_choice, infinigen::select_tokens(scores, {s, s - 17}, 0.2, 99).slots[0]));
}

// Acceptance 1: the budget covering the sequence attends every row -> the full cache's logits. The
// speculation only chooses rows; with every valid row chosen the attention is exact attention over
// the full cache's rows in the same slot order, with the keys repeated per query head instead of
// SDPA's GQA broadcast: only the reduction order of the fp32 dot products and softmax sums may
// differ, which is what EquivalenceOptions::logit_tolerance's argument covers (the orthogonal skew
// never touches the attended K/V). dense_layers 1: the tiny checkpoints have 2-3 layers; a
// 512-token calibration keeps the test fast (the selection does not depend on it at budget 1).
TEST(InfiniGen, BudgetCoveringTheSequenceEqualsFullCacheOnEveryTinyModel) {
  const nlohmann::json params = {{"budget", 1.0}, {"dense_layers", 1}, {"calibration_tokens", 512}};
  test::expect_equivalent_to_full("infinigen", params);
  test::EquivalenceOptions chunked;
  chunked.prefill_chunk = 24;
  chunked.max_new_tokens = 6;
  test::expect_equivalent_to_full("infinigen", params, chunked);
}

TEST(InfiniGen, MemoryRecordEqualsTheFormulasAtEveryStep) {
  const int64_t steps = 7;
  const double budget = 0.2;
  for (const auto& name : test::tiny_model_names()) {
    auto method = test::make_method("infinigen", {{"budget", budget}, {"dense_layers", 1}});
    const CausalLM& model = test::tiny_model(name);
    const std::vector<int64_t> prompt = test::tiny_reference(name)["prompt"].get<std::vector<int64_t>>();
    GenerateOptions options;
    options.max_new_tokens = steps;
    options.stop_on_eos = false;
    const GenerateResult r = generate(model, *method, {prompt}, options);
    const KVShape c = model.config().kv_shape();
    const int64_t p = static_cast<int64_t>(prompt.size()), slots = p + steps, dense = 1, e = 4;
    const nlohmann::json stats = method->stats();
    int64_t width_sum = 0;
    for (int64_t w : stats["partial_widths"].get<std::vector<int64_t>>()) width_sum += w;
    EXPECT_EQ(stats["calibration_tokens"], 2048) << name;
    EXPECT_EQ(stats["calibration_token_source"], "utf8_bytes") << name;
    EXPECT_GE(width_sum, (c.num_layers - dense) * static_cast<int64_t>(c.head_dim * 0.2)) << name;
    const auto check_resident = [&](const KVMemory& m, const std::string& when) {
      EXPECT_EQ(m.host_bytes, kv_formula::infinigen_host_bytes(c, 1, slots, dense, e)) << name << " " << when;
      EXPECT_EQ(m.kv_device_bytes, kv_formula::infinigen_kv_device_bytes(c, 1, slots, dense, e)) << name << " " << when;
      EXPECT_EQ(m.metadata_device_bytes, kv_formula::infinigen_metadata_device_bytes(c, 1, slots, width_sum, e))
          << name << " " << when;
      EXPECT_EQ(m.device_bytes, m.kv_device_bytes + m.metadata_device_bytes) << name;
    };
    check_resident(r.kv_after_prefill, "after prefill");
    EXPECT_EQ(r.kv_after_prefill.host_to_device_bytes, 0) << name;
    EXPECT_DOUBLE_EQ(r.kv_after_prefill.tokens_attended, static_cast<double>(p)) << name;
    ASSERT_EQ(static_cast<int64_t>(r.kv_steps.size()), steps - 1) << name;
    int64_t previous = 0;
    for (size_t i = 0; i < r.kv_steps.size(); ++i) {
      const KVMemory& m = r.kv_steps[i];
      const int64_t n = p + 1 + static_cast<int64_t>(i);                    // slots incl. the new token
      const int64_t k = static_cast<int64_t>(static_cast<double>(n) * budget);  // per query head
      check_resident(m, "step " + std::to_string(i));
      EXPECT_EQ(m.host_to_device_bytes - previous, kv_formula::infinigen_step_host_to_device_bytes(c, 1, k, dense, e))
          << name << " step " << i;
      previous = m.host_to_device_bytes;
      ASSERT_EQ(static_cast<int64_t>(m.layer_budgets.size()), c.num_layers);
      EXPECT_EQ(m.layer_budgets[0].local, p);
      EXPECT_EQ(m.layer_budgets[0].generated, static_cast<int64_t>(i) + 1);
      double attended = static_cast<double>(n);
      for (int64_t l = 1; l < c.num_layers; ++l) {
        EXPECT_EQ(m.layer_budgets[l].selected, k) << name;
        EXPECT_EQ(m.layer_budgets[l].total(), k) << name;
        attended += static_cast<double>(k);
      }
      EXPECT_DOUBLE_EQ(m.tokens_attended, attended / static_cast<double>(c.num_layers)) << name;
    }
  }
}

TEST(InfiniGen, RejectsAMissingCalibrationTextWithItsPath) {
  auto method = test::make_method("infinigen", {{"calibration_text", "/nonexistent/calibration.txt"}, {"dense_layers", 1}});
  try {
    method->reset(test::tiny_model("llama3").view(), 1, 8);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/calibration.txt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("method.params.calibration_text"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvbench
