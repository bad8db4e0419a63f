// SPDX-License-Identifier: Apache-2.0
// yakv / yakv_gpu: (a) the positions each variant selects equal a dense LibTorch computation of its
// scoring rule (ties: none on random fp32 data; the methods rank ties by lower index) and the
// attention output equals dense attention over the assembled rows; (c) device/host bytes equal the
// methods.md 1.9 formulas and host->device bytes equal the rows the steps had to fetch.
// (b), equality with the full cache, is tests/methods/test_yakv_full_cache.cpp.
#include "harness/kv/higgs.h"
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/kv/rope.h"
#include "harness/kv/method.h"
#include "methods/yakv_stores.h"
#include "tests/methods/attention_calls.h"
#include "tests/model/tiny_models.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kvbench {
namespace {

std::unique_ptr<KVMethod> make(const std::string& name, const nlohmann::json& params) {
  const auto* entry = KVMethodRegistry::instance().find(name);
  nlohmann::json resolved = default_params(entry->params);
  for (const auto& [k, v] : params.items()) resolved[k] = v;
  return entry->make(resolved);
}

// softmax(q k^T * scale) v per KV head (GQA by repetition), fp64. q [1, Hq, 1, d], k/v [1, Hkv, n, d].
at::Tensor dense(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  const int64_t group = q.size(1) / k.size(1);
  at::Tensor kr = k.to(at::kDouble).repeat_interleave(group, 1), vr = v.to(at::kDouble).repeat_interleave(group, 1);
  return at::matmul(at::softmax(at::matmul(q.to(at::kDouble), kr.transpose(-1, -2)) * scale, -1), vr);
}

// Token rows [s, Hkv*d] of [1, Hkv, s, d] and back.
at::Tensor rows_of(const at::Tensor& t) { return t[0].transpose(0, 1).reshape({t.size(2), -1}); }
at::Tensor heads_of(const at::Tensor& rows, int64_t hkv) {
  return rows.view({rows.size(0), hkv, -1}).transpose(0, 1).unsqueeze(0);
}

// Gathers per-head positions [Hkv, k] from t [1, Hkv, s, d].
at::Tensor take_rows(const at::Tensor& t, const at::Tensor& positions) {
  return t[0].gather(1, positions.unsqueeze(-1).expand({-1, -1, t.size(3)})).unsqueeze(0);
}

struct Synthetic {
  ModelConfig config;
  std::unique_ptr<Rope> rope;
  int64_t hq = 8, hkv = 2, d = 32, prompt = 300, steps = 4;
  double scale = 1.0 / std::sqrt(32.0);
  at::Tensor k_pre, k_post, q, v, positions;

  Synthetic() {
    config.num_layers = 2;
    config.num_heads = hq;
    config.num_kv_heads = hkv;
    config.head_dim = d;
    rope = std::make_unique<Rope>(config.rope, d, at::kCPU);
    at::manual_seed(17);
    const int64_t total = prompt + steps;
    k_pre = at::randn({1, hkv, total, d});
    v = at::randn({1, hkv, total, d});
    q = at::randn({1, hq, total, d}) * 2;
    positions = at::arange(total, at::kLong).unsqueeze(0);
    k_post = rope->apply(k_pre, positions);
    q = rope->apply(q, positions);
  }
  ModelView view() const { return ModelView{config.kv_shape(), nullptr, rope.get()}; }
  AttentionCall call(int64_t layer, int64_t begin, int64_t n, AttentionPhase phase) const {
    return test::LayerSequence{q, k_pre, k_post, v, positions, scale}.call(begin, n, phase, true, layer);
  }
  // Runs prefill (two chunks) and returns nothing; both layers see the same tensors.
  void prefill(KVMethod& method) const {
    for (auto [begin, n] : {std::pair<int64_t, int64_t>{0, 120}, {120, prompt - 120}}) {
      for (int64_t layer = 0; layer < config.num_layers; ++layer) {
        AttentionCall c = call(layer, begin, n, AttentionPhase::kPrefill);
        c.last_prefill_chunk = begin + n == prompt;
        method.attend(c);
      }
    }
  }
};

TEST(Yakv, SelectionAndOutputEqualDenseReference) {
  Synthetic t;
  const int64_t local = 8, outliers = 3, sparse = 20;
  auto method = make("yakv", {{"local_budget", local}, {"outlier_budget", outliers}, {"sparse_budget", sparse}});
  method->reset(t.view(), 1, t.prompt + t.steps);
  t.prefill(*method);
  auto* probe = dynamic_cast<YakvSelectionProbe*>(method.get());
  ASSERT_NE(probe, nullptr);
  // Stores as the reference builds them: landmarks 2-bit (D4, group 128) of post-RoPE keys of the
  // tokens outliers..S-local-1; keys/values 4-bit (D2, group = channel = 64).
  const int64_t n = t.prompt - local - outliers, c = t.hkv * t.d;
  HiggsQuantizer landmark_q(HiggsConfig{4, 256, 128}), kv_q(HiggsConfig{2, 256, 64});
  at::Tensor landmarks = landmark_q.quantize_dequantize(rows_of(t.k_post.narrow(2, outliers, n))).view({n, t.hkv, t.d});
  at::Tensor keys_pre = heads_of(kv_q.quantize_dequantize(rows_of(t.k_pre.narrow(2, 0, t.prompt))), t.hkv);
  at::Tensor values = heads_of(kv_q.quantize_dequantize(rows_of(t.v.narrow(2, 0, t.prompt))), t.hkv);
  const int64_t value_row = 64 / 2 + 4;
  int64_t expected_h2d = 0;
  for (int64_t step = 0; step < t.steps; ++step) {
    const int64_t p = t.prompt + step;
    at::Tensor out;
    for (int64_t layer = 0; layer < 2; ++layer) out = method->attend(t.call(layer, p, 1, AttentionPhase::kDecode));
    // Dense scoring rule: per query head softmax(q.L * scale) (fp32), max over the group of 4.
    at::Tensor qh = t.q[0].select(1, p).view({t.hkv, 4, t.d});
    at::Tensor probs = at::softmax(at::einsum("hgd,nhd->hgn", {qh, landmarks}) * t.scale, -1);
    at::Tensor score = std::get<0>(probs.max(1));  // [Hkv, n]
    at::Tensor want = std::get<0>(std::get<1>(score.topk(sparse, -1)).sort(-1)) + outliers;
    EXPECT_TRUE(at::equal(probe->last_selection(0), want)) << "step " << step;
    EXPECT_TRUE(at::equal(probe->last_selection(1), want)) << "step " << step;
    // Output: exact attention over [local | outliers | selected (re-RoPE'd 4-bit keys, 4-bit
    // values) | generated].
    at::Tensor head_pos = want;
    at::Tensor sel_k = t.rope->apply(take_rows(keys_pre, head_pos).transpose(0, 1), head_pos).transpose(0, 1);
    at::Tensor k_all = at::cat({t.k_post.narrow(2, t.prompt - local, local), t.k_post.narrow(2, 0, outliers), sel_k,
                                t.k_post.narrow(2, t.prompt, step + 1)}, 2);
    at::Tensor v_all = at::cat({t.v.narrow(2, t.prompt - local, local), t.v.narrow(2, 0, outliers), take_rows(values, head_pos),
                                t.v.narrow(2, t.prompt, step + 1)}, 2);
    at::Tensor expected = dense(t.q.narrow(2, p, 1), k_all, v_all, t.scale);
    EXPECT_LT((out.to(at::kDouble) - expected).abs().max().item<double>(), 1e-5) << "step " << step;
    // Every distinct selected position's value row (all heads) comes from host memory once.
    expected_h2d += 2 * std::get<0>(at::_unique(want.reshape({-1}))).numel() * value_row;
    KVMemory m = method->memory();
    EXPECT_EQ(m.host_to_device_bytes, expected_h2d) << "step " << step;
    EXPECT_DOUBLE_EQ(m.tokens_attended, static_cast<double>(local + outliers + sparse + step + 1));
    ASSERT_EQ(m.layer_budgets.size(), 2u);
    EXPECT_EQ(m.layer_budgets[1].total(), local + outliers + sparse + step + 1);
    EXPECT_EQ(m.layer_budgets[1].generated, step + 1);
  }
  // methods.md 1.9: landmarks C/4 codes + one fp32 scale per 128 coordinates per token (C = 64 is
  // padded to 128), 4-bit key store on the device (C/2 + 4 per token), 4-bit values on the host,
  // exact fp32 K/V of local + outliers + generated tokens.
  KVMemory m = method->memory();
  EXPECT_EQ(m.metadata_device_bytes, 2 * n * (128 / 4 + 4));
  EXPECT_EQ(m.kv_device_bytes, 2 * (t.prompt * (c / 2 + 4) + (local + outliers + t.steps) * 2 * c * 4));
  EXPECT_EQ(m.host_bytes, 2 * t.prompt * (c / 2 + 4));
  EXPECT_EQ(m.device_bytes, m.kv_device_bytes + m.metadata_device_bytes);
}

// A prompt shorter than the local window: everything is kept exactly (the reference would fail in
// top-k; kvbench clamps every part of the budget to the prompt).
TEST(Yakv, PromptShorterThanLocalWindowIsKeptExactly) {
  Synthetic t;
  auto method = make("yakv", {{"local_budget", 1000}, {"outlier_budget", 4}});
  method->reset(t.view(), 1, t.prompt + 1);
  t.prefill(*method);
  at::Tensor out;
  for (int64_t layer = 0; layer < 2; ++layer) out = method->attend(t.call(layer, t.prompt, 1, AttentionPhase::kDecode));
  at::Tensor expected = dense(t.q.narrow(2, t.prompt, 1), t.k_post.narrow(2, 0, t.prompt + 1),
                              t.v.narrow(2, 0, t.prompt + 1), t.scale);
  EXPECT_LT((out.to(at::kDouble) - expected).abs().max().item<double>(), 1e-5);
  KVMemory m = method->memory();
  ASSERT_EQ(m.layer_budgets.size(), 2u);
  EXPECT_EQ(m.layer_budgets[0].local, t.prompt);
  EXPECT_EQ(m.layer_budgets[0].outliers, 0);
  EXPECT_EQ(m.layer_budgets[0].selected, 0);
  EXPECT_EQ(m.metadata_device_bytes, 0);
  EXPECT_EQ(m.host_to_device_bytes, 0);
}

// Residual landmark quantization (methods.md 1.7): meta-landmarks = means of meta_chunk consecutive
// landmarks (the last one repeated to pad), quantized with the main grid; residuals quantized with
// the residual grid (here EDEN2-256); the selection follows the reconstructed landmarks.
TEST(Yakv, ResidualLandmarkQuantizationSelectsByReconstructedLandmarks) {
  Synthetic t;
  const int64_t local = 8, sparse = 16, meta = 4;
  auto method = make("yakv", {{"local_budget", local}, {"sparse_budget", sparse}, {"residual_quantization", true},
                              {"meta_chunk_size", meta}, {"residual_grid_dim", 2}});
  method->reset(t.view(), 1, t.prompt + t.steps);
  t.prefill(*method);
  auto* probe = dynamic_cast<YakvSelectionProbe*>(method.get());
  ASSERT_NE(probe, nullptr);
  const int64_t n = t.prompt - local;  // 292 = 73 meta-landmarks of 4 (no padding)
  HiggsQuantizer main_q(HiggsConfig{4, 256, 128}), residual_q(HiggsConfig{2, 256, 128});
  at::Tensor rows = rows_of(t.k_post.narrow(2, 0, n));
  at::Tensor meta_rows = rows.view({n / meta, meta, -1}).mean(1);
  at::Tensor meta_hat = main_q.quantize_dequantize(meta_rows).repeat_interleave(meta, 0);
  at::Tensor landmarks = (meta_hat + residual_q.quantize_dequantize(rows - meta_hat)).view({n, t.hkv, t.d});
  for (int64_t step = 0; step < 2; ++step) {
    const int64_t p = t.prompt + step;
    for (int64_t layer = 0; layer < 2; ++layer) method->attend(t.call(layer, p, 1, AttentionPhase::kDecode));
    at::Tensor qh = t.q[0].select(1, p).view({t.hkv, 4, t.d});
    at::Tensor probs = at::softmax(at::einsum("hgd,nhd->hgn", {qh, landmarks}) * t.scale, -1);
    at::Tensor want = std::get<0>(std::get<1>(std::get<0>(probs.max(1)).topk(sparse, -1)).sort(-1));
    EXPECT_TRUE(at::equal(probe->last_selection(0), want)) << "step " << step;
  }
  // Stored: meta codes (n/4 rows) + residual codes (n rows), each C/D bytes + 4 per 128 coords.
  EXPECT_EQ(method->memory().metadata_device_bytes, 2 * (n / meta * (128 / 4 + 4) + n * (128 / 2 + 4)));
}

TEST(YakvGpu, SelectionAndOutputEqualDenseReference) {
  Synthetic t;
  auto method = make("yakv_gpu", {{"prefix_budget", 0.05}, {"sparse_budget", 0.1}, {"suffix_budget", 0.05},
                                   {"min_seqlen_to_prune", 50}});
  const int64_t capacity = t.prompt + t.steps;
  method->reset(t.view(), 1, capacity);
  t.prefill(*method);
  auto* probe = dynamic_cast<YakvSelectionProbe*>(method.get());
  ASSERT_NE(probe, nullptr);
  // Split of S = 300: prefix ceil(15) = 15, suffix 15, infix 270, pruned floor(30) = 30.
  const int64_t prefix = 15, infix = 270, pruned = 30, c = t.hkv * t.d;
  // Landmarks: one Hadamard over the whole row (C = 64), bf16 scales.
  HiggsQuantizer landmark_q(HiggsConfig{4, 256, 64});
  HiggsCodes codes = landmark_q.quantize(rows_of(t.k_post.narrow(2, prefix, infix)));
  codes.scales = codes.scales.to(at::kBFloat16).to(at::kFloat);
  at::Tensor landmarks = landmark_q.dequantize(codes).view({infix, t.hkv, t.d});
  auto fp8 = [](const at::Tensor& x) { return x.to(at::kFloat8_e4m3fn).to(at::kFloat); };
  int64_t expected_h2d = 0;
  for (int64_t step = 0; step < t.steps; ++step) {
    const int64_t p = t.prompt + step;
    at::Tensor out;
    for (int64_t layer = 0; layer < 2; ++layer) out = method->attend(t.call(layer, p, 1, AttentionPhase::kDecode));
    at::Tensor qbar = t.q[0].select(1, p).view({t.hkv, 4, t.d}).mean(1);  // [Hkv, d]
    at::Tensor score = at::einsum("hd,nhd->hn", {qbar, landmarks});
    at::Tensor want = std::get<0>(std::get<1>(score.topk(pruned, -1)).sort(-1)) + prefix;
    EXPECT_TRUE(at::equal(probe->last_selection(0), want)) << "step " << step;
    // Output: exact attention over fp8 K/V of [prefix | selected | suffix + generated].
    at::Tensor pos = at::cat({at::arange(prefix).unsqueeze(0).expand({t.hkv, prefix}), want,
                              at::arange(prefix + infix, p + 1).unsqueeze(0).expand({t.hkv, p + 1 - prefix - infix})}, 1);
    at::Tensor expected = dense(t.q.narrow(2, p, 1), fp8(take_rows(t.k_post, pos)), fp8(take_rows(t.v, pos)), t.scale);
    EXPECT_LT((out.to(at::kDouble) - expected).abs().max().item<double>(), 1e-5) << "step " << step;
    // All attended rows are read from host memory every step: P tokens x Hkv x d x (K, V) x 1 byte.
    expected_h2d += 2 * pos.size(1) * c * 2;
    KVMemory m = method->memory();
    EXPECT_EQ(m.host_to_device_bytes, expected_h2d) << "step " << step;
    EXPECT_DOUBLE_EQ(m.tokens_attended, static_cast<double>(pos.size(1)));
    ASSERT_EQ(m.layer_budgets.size(), 2u);
    EXPECT_EQ(m.layer_budgets[0].total(), pos.size(1));
    EXPECT_EQ(m.layer_budgets[0].sink, prefix);
    EXPECT_EQ(m.layer_budgets[0].selected, pruned);
  }
  // methods.md 1.9: C/4 code bytes + a 2-byte scale per infix token on the device; every K/V row
  // in fp8 in (mapped) host memory, allocated for the capacity hint.
  KVMemory m = method->memory();
  EXPECT_EQ(m.metadata_device_bytes, 2 * infix * (c / 4 + 2));
  EXPECT_EQ(m.kv_device_bytes, 0);
  EXPECT_EQ(m.host_bytes, 2 * capacity * c * 2);
}

TEST(YakvGpu, LengthSplitFollowsTheReferenceKernel) {
  // No pruning up to min_seqlen_to_prune: every token is attended.
  Synthetic t;
  auto method = make("yakv_gpu", {});
  method->reset(t.view(), 1, t.prompt + 1);
  t.prefill(*method);
  nlohmann::json s = method->stats();
  EXPECT_EQ(s["prefix"], t.prompt);
  EXPECT_EQ(s["infix"], 0);
  for (int64_t layer = 0; layer < 2; ++layer) method->attend(t.call(layer, t.prompt, 1, AttentionPhase::kDecode));
  EXPECT_DOUBLE_EQ(method->memory().tokens_attended, static_cast<double>(t.prompt + 1));
  // Above it with a tiny sparse ratio the pruned length is raised to min_seqlen_to_prune:
  // S = 300, min 200: prefix ceil(1.875) = 2, suffix 2, infix 296, pruned floor(4.6875) = 4 -> 196.
  auto raised = make("yakv_gpu", {{"min_seqlen_to_prune", 200}});
  raised->reset(t.view(), 1, t.prompt + 1);
  t.prefill(*raised);
  s = raised->stats();
  EXPECT_EQ(s["prefix"], 2);
  EXPECT_EQ(s["infix"], 296);
  EXPECT_EQ(s["pruned_infix"], 196);
}

// (c) methods.md 1.9 on the tiny models with the default quantized formats.
TEST(Yakv, PersistentDeviceBytesFollowTheFormulaOnTinyModels) {
  for (const auto& name : test::tiny_model_names()) {
    auto model = CausalLM::load(test::tiny_models_dir() + "/" + name, {at::kFloat, at::kCPU});
    const ModelConfig& cfg = model->config();
    std::vector<int64_t> prompt = test::tiny_reference(name)["prompt"].get<std::vector<int64_t>>();
    const int64_t s = static_cast<int64_t>(prompt.size()), c = cfg.num_kv_heads * cfg.head_dim;
    auto pad = [](int64_t v, int64_t m) { return (v + m - 1) / m * m; };
    int64_t pow2 = 1;
    while (pow2 < c) pow2 *= 2;
    GenerateOptions options;
    options.max_new_tokens = 4;
    options.stop_on_eos = false;
    const int64_t local = 16, generated = options.max_new_tokens - 1;  // the first token comes from prefill
    auto yakv = make("yakv", {{"local_budget", local}});
    KVMemory m = generate(*model, *yakv, {prompt}, options).kv;
    const int64_t l = cfg.num_layers, n = s - local;
    EXPECT_EQ(m.metadata_device_bytes, l * n * (pad(c, 128) / 4 + 4 * pad(c, 128) / 128)) << name;
    EXPECT_EQ(m.kv_device_bytes, l * (s * (pow2 / 2 + 4) + (local + generated) * 2 * c * 4)) << name;
    EXPECT_EQ(m.host_bytes, l * s * (pow2 / 2 + 4)) << name;

    auto gpu = make("yakv_gpu", {{"min_seqlen_to_prune", 16}});
    m = generate(*model, *gpu, {prompt}, options).kv;
    // S = 64: prefix ceil(0.4) = 1, suffix 1, infix 62.
    EXPECT_EQ(m.metadata_device_bytes, l * 62 * (pow2 / 4 + 2)) << name;
    EXPECT_EQ(m.kv_device_bytes, 0) << name;
    EXPECT_EQ(m.host_bytes, l * (s + options.max_new_tokens) * 2 * c) << name;
  }
}

}  // namespace
}  // namespace kvbench
