// SPDX-License-Identifier: Apache-2.0
// shadowkv: each building block against a dense fp64 reference of its rule (chunk selection,
// outliers, low-rank reconstruction with RoPE, slot hit/miss update), exact equality with the full
// cache when the budgets cover the prompt at full rank on every tiny model, and the accounting
// (device bytes = methods.md 1.9 formula, host->device bytes = missed chunks, hit counts).
// Ties: the random fp32 inputs below have distinct scores; each selection test asserts a margin
// between the k-th and (k+1)-th reference score, so exact index sets are well defined.
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/kv/rope.h"
#include "harness/kv/method.h"
#include "methods/shadowkv_ops.h"
#include "tests/methods/attention_calls.h"
#include "tests/model/tiny_models.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace kvbench {
namespace {

using namespace shadowkv;

// Tiny tensors: intra-op threads only add contention on a shared CI machine.
const int kSingleThread = (at::set_num_threads(1), 0);

std::unique_ptr<KVMethod> make(nlohmann::json params) {
  nlohmann::json p = {{"sparse_budget", 2048}, {"rank", 160}, {"chunk_size", 8},
                      {"local_chunks", 4},     {"outlier_chunks", 48}, {"reuse_hits", true}, {"svd", "exact"}};
  p.update(params);
  return KVMethodRegistry::instance().find("shadowkv")->make(p);
}

std::set<int64_t> row_set(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous().cpu();
  return std::set<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

TEST(ShadowKV, ChunkLayoutFollowsTheReferenceAndClamps) {
  ChunkLayout l = chunk_layout(131072, 8, 4, 48, 2048);
  EXPECT_EQ(l.chunks, 16384 - 4);
  EXPECT_EQ(l.prefill_local, 32);
  EXPECT_EQ(l.landmarks, 16380 - 48);
  EXPECT_EQ(l.selected, 256);
  l = chunk_layout(1003, 8, 4, 48, 2048);  // 125 chunks - 4 local; tail 35 = 32 + 3 alignment
  EXPECT_EQ(l.chunks, 121);
  EXPECT_EQ(l.prefill_local, 35);
  EXPECT_EQ(l.selected, 121 - 48);  // budget larger than the landmark chunks: all of them
  l = chunk_layout(30, 8, 4, 48, 2048);  // shorter than the local window: kept exactly
  EXPECT_EQ(l.chunks, 0);
  EXPECT_EQ(l.prefill_local, 30);
  EXPECT_EQ(l.selected, 0);
  l = chunk_layout(100, 8, 4, 48, 2048);
  EXPECT_EQ(l.outliers, 8);
  EXPECT_EQ(l.landmarks, 0);
}

TEST(ShadowKV, SelectionEqualsDenseSoftmaxMaxOverGroup) {
  at::manual_seed(11);
  for (auto [hq, hkv] : std::vector<std::pair<int64_t, int64_t>>{{8, 2}, {3, 1}, {4, 4}}) {
    const int64_t b = 2, d = 32, c = 57, k = 13;
    at::Tensor q = at::randn({b, hq, 1, d});
    at::Tensor landmarks = at::randn({b, hkv, c, d});
    at::Tensor ids = std::get<0>(at::sort(at::randperm(400, at::kLong).narrow(0, 0, c))).expand({b, hkv, c}).contiguous();
    at::Tensor got = select_chunks(q, landmarks, ids, k);
    ASSERT_EQ(got.sizes(), (std::vector<int64_t>{b, hkv, k}));
    const int64_t g = hq / hkv;
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t h = 0; h < hkv; ++h) {
        // score[c] = max_g softmax_c(q_g . L_c / sqrt(d)), fp64.
        std::vector<double> score(c, -1.0);
        for (int64_t gi = 0; gi < g; ++gi) {
          at::Tensor logits = at::matmul(landmarks[bi][h].to(at::kDouble), q[bi][h * g + gi][0].to(at::kDouble)) /
                              std::sqrt(static_cast<double>(d));
          at::Tensor p = at::exp(logits - logits.max());
          p = p / p.sum();
          for (int64_t ci = 0; ci < c; ++ci) score[ci] = std::max(score[ci], p[ci].item<double>());
        }
        std::vector<int64_t> order(c);
        for (int64_t i = 0; i < c; ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return score[x] > score[y]; });
        ASSERT_GT(score[order[k - 1]] - score[order[k]], 1e-6) << "near tie; change the seed";
        std::set<int64_t> want;
        for (int64_t i = 0; i < k; ++i) want.insert(ids[bi][h][order[i]].item<int64_t>());
        EXPECT_EQ(row_set(got[bi][h]), want) << "hq " << hq << " hkv " << hkv << " b " << bi << " h " << h;
      }
  }
}

TEST(ShadowKV, OutliersAreTheChunksWithLowestMinCosine) {
  at::manual_seed(5);
  const int64_t b = 2, hkv = 3, d = 16, s = 8 * 34 + 5;  // 34 chunks: 30 context + 4 local, 5 extra
  at::Tensor key = at::randn({b, hkv, s, d}) + 0.7;
  ChunkLayout l = chunk_layout(s, 8, 4, 6, 64);
  ASSERT_EQ(l.chunks, 30);
  ASSERT_EQ(l.prefill_local, 37);
  ChunkSummary got = summarize_chunks(key, l);
  ASSERT_EQ(got.landmarks.sizes(), (std::vector<int64_t>{b, hkv, 24, d}));
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < hkv; ++h) {
      std::vector<double> min_cos(l.chunks);
      std::vector<at::Tensor> means;
      for (int64_t c = 0; c < l.chunks; ++c) {
        at::Tensor rows = key[bi][h].narrow(0, 8 * c, 8).to(at::kDouble);  // [8, d]
        at::Tensor mean = rows.mean(0);
        at::Tensor cos = at::matmul(rows, mean) / (rows.norm(2, {1}) * mean.norm());
        min_cos[c] = cos.min().item<double>();
        means.push_back(mean);
      }
      std::vector<int64_t> order(l.chunks);
      for (int64_t i = 0; i < l.chunks; ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return min_cos[x] < min_cos[y]; });
      ASSERT_GT(min_cos[order[6]] - min_cos[order[5]], 1e-6) << "near tie; change the seed";
      std::set<int64_t> outliers(order.begin(), order.begin() + 6);
      EXPECT_EQ(row_set(got.outlier_ids[bi][h]), outliers);
      // The rest keep their landmark (the chunk mean), ascending by chunk id.
      std::vector<int64_t> rest;
      for (int64_t c = 0; c < l.chunks; ++c)
        if (!outliers.count(c)) rest.push_back(c);
      at::Tensor ids = got.landmark_ids[bi][h].contiguous();
      ASSERT_EQ(std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel()), rest);
      for (size_t i = 0; i < rest.size(); ++i)
        EXPECT_LT((got.landmarks[bi][h][static_cast<int64_t>(i)].to(at::kDouble) - means[rest[i]]).abs().max().item<double>(), 1e-6);
    }
}

// Rope of a tiny llama3-style config (scaled frequencies) for the reconstruction tests.
Rope test_rope(int64_t d) {
  RopeConfig rc;
  rc.type = "llama3";
  rc.theta = 500000;
  rc.factor = 32;
  rc.low_freq_factor = 1;
  rc.high_freq_factor = 4;
  rc.original_max_position_embeddings = 8192;
  return Rope(rc, d, at::kCPU);
}

TEST(ShadowKV, ReconstructionIsTheLowRankProductWithRope) {
  at::manual_seed(3);
  const int64_t b = 2, hkv = 2, d = 32, s = 96, chunk = 8, rank = 12;
  Rope rope = test_rope(d);
  // Keys with a decaying spectrum (distinct singular values: the rank-12 truncation is unique).
  at::Tensor basis = at::randn({b, s, hkv * d}, at::kDouble);
  at::Tensor key_pre = (basis * at::pow(0.8, at::arange(hkv * d, at::kDouble))).view({b, s, hkv, d}).permute({0, 2, 1, 3}).contiguous();
  LowRankKeys f = low_rank_keys(key_pre.to(at::kFloat), rank, at::kFloat);
  ASSERT_EQ(f.rank(), rank);
  // Dense fp64 reference: K_r = U_r diag(s_r) Vh_r, per head, rotated at the token positions.
  auto [u, sigma, vh] = at::linalg_svd(key_pre.permute({0, 2, 1, 3}).reshape({b, s, hkv * d}), false);
  at::Tensor k_r = at::matmul(u.narrow(2, 0, rank) * sigma.narrow(1, 0, rank).unsqueeze(1), vh.narrow(1, 0, rank));
  at::Tensor k_r_heads = k_r.view({b, s, hkv, d}).permute({0, 2, 1, 3});  // [B, Hkv, S, d]
  at::Tensor positions = at::arange(s, at::kLong).unsqueeze(0).expand({b, s});
  at::Tensor want_all = rope.apply(k_r_heads, positions);
  // Chunk lists per (b, h), unsorted, each head its own.
  at::Tensor ids = at::tensor(std::vector<int64_t>{3, 0, 11, 7, 7, 2, 5, 1, 9, 10, 4, 6}).view({b, hkv, 3});
  at::Tensor got = reconstruct_keys(f, ids, chunk, rope);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{b, hkv, 3 * chunk, d}));
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < hkv; ++h)
      for (int64_t j = 0; j < 3; ++j) {
        const int64_t c = ids[bi][h][j].item<int64_t>();
        at::Tensor want = want_all[bi][h].narrow(0, c * chunk, chunk);
        EXPECT_LT((got[bi][h].narrow(0, j * chunk, chunk).to(at::kDouble) - want).abs().max().item<double>(), 1e-4)
            << "b " << bi << " h " << h << " chunk " << c;
      }
  // The Gram-matrix route gives the same rank-r product (well-separated spectrum here).
  LowRankKeys g = low_rank_keys(key_pre.to(at::kFloat), rank, at::kFloat, SvdRoute::kGram);
  ASSERT_EQ(g.rank(), rank);
  at::Tensor got_gram = reconstruct_keys(g, ids, chunk, rope);
  const double magnitude = got.abs().max().item<double>();
  EXPECT_LT((got_gram - got).abs().max().item<double>(), 1e-4 * magnitude);
  // Full rank: the original post-RoPE keys.
  LowRankKeys full = low_rank_keys(key_pre.to(at::kFloat), 100000, at::kFloat);
  EXPECT_EQ(full.rank(), hkv * d);
  at::Tensor exact = rope.apply(key_pre, positions);
  at::Tensor all_ids = at::arange(s / chunk, at::kLong).expand({b, hkv, s / chunk});
  at::Tensor rebuilt = reconstruct_keys(full, all_ids, chunk, rope);
  EXPECT_LT((rebuilt.to(at::kDouble) - exact).abs().max().item<double>(), 1e-4);
}

TEST(ShadowKV, SlotUpdateKeepsHitsInPlaceAndFillsFreedSlots) {
  // Hand-made two-step selection: row 0 keeps 7 and 9 (slots 1, 3), chunks 2 and 5 replace 3 and 1;
  // row 1 asks for the same set in another order (all hits).
  at::Tensor resident = at::tensor(std::vector<int64_t>{3, 7, 1, 9, 0, 1, 2, 3}).view({2, 4});
  at::Tensor wanted = at::tensor(std::vector<int64_t>{7, 2, 9, 5, 3, 2, 1, 0}).view({2, 4});
  SlotUpdate u = update_slots(resident, wanted, 12);
  EXPECT_EQ(u.hits, 6);
  EXPECT_EQ(u.misses, 2);
  EXPECT_TRUE(at::equal(u.resident, at::tensor(std::vector<int64_t>{2, 7, 5, 9, 0, 1, 2, 3}).view({2, 4})));
  ASSERT_EQ(u.miss_ids.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_TRUE(at::equal(u.miss_valid, at::tensor(std::vector<int64_t>{1, 1, 0, 0}).view({2, 2}).to(at::kBool)));
  EXPECT_EQ(u.miss_ids[0][0].item<int64_t>(), 2);
  EXPECT_EQ(u.miss_ids[0][1].item<int64_t>(), 5);
  EXPECT_EQ(u.miss_slots[0][0].item<int64_t>(), 0);
  EXPECT_EQ(u.miss_slots[0][1].item<int64_t>(), 2);
  // Second step from the updated table; empty slots (-1) are all misses.
  SlotUpdate v = update_slots(u.resident, at::tensor(std::vector<int64_t>{5, 6, 7, 2, 3, 4, 5, 6}).view({2, 4}), 12);
  EXPECT_EQ(v.hits, 3 + 1);
  EXPECT_EQ(row_set(v.resident[0]), (std::set<int64_t>{5, 6, 7, 2}));
  EXPECT_EQ(v.resident[0][3].item<int64_t>(), 6);  // the freed slot of chunk 9
  SlotUpdate e = update_slots(at::full({1, 3}, -1, at::kLong), at::tensor(std::vector<int64_t>{4, 0, 8}).view({1, 3}), 9);
  EXPECT_EQ(e.hits, 0);
  EXPECT_TRUE(at::equal(e.resident, at::tensor(std::vector<int64_t>{4, 0, 8}).view({1, 3})));
}

// One layer driven by hand: every decode output equals dense attention over exactly the kept set
// (exact tail, exact outlier chunks, the selected chunks' reconstructed keys with exact values,
// generated tokens), and hits / host bytes follow the selections of consecutive steps.
TEST(ShadowKV, DecodeAttendsExactlyTheKeptSetAndCountsHits) {
  ModelConfig config;
  config.num_layers = 1;
  config.head_dim = 32;
  const int64_t hq = 4, hkv = 2, d = 32, s = 8 * 20 + 5, steps = 3, chunk = 8;
  Rope rope = test_rope(d);
  ModelView view{config.kv_shape(), nullptr, &rope};
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  at::manual_seed(9);
  at::Tensor k_pre = at::randn({1, hkv, s + steps, d}), v = at::randn({1, hkv, s + steps, d});
  at::Tensor q_pre = at::randn({1, hq, s + steps, d}) * 3;
  at::Tensor positions = at::arange(s + steps, at::kLong).unsqueeze(0);
  at::Tensor k_post = rope.apply(k_pre, positions), q_post = rope.apply(q_pre, positions);
  const test::LayerSequence sequence{q_post, k_pre, k_post, v, positions, scale};
  auto call_for = [&](int64_t begin, int64_t n, AttentionPhase phase) { return sequence.call(begin, n, phase); };
  // Layout: 16 context chunks, tail 37, 3 outliers, 13 landmarks, 5 selected; rank 10.
  ChunkLayout l = chunk_layout(s, chunk, 4, 3, 40);
  ASSERT_EQ(l.selected, 5);
  LowRankKeys f = low_rank_keys(k_pre.narrow(2, 0, s), 10, at::kFloat);
  ChunkSummary summary = summarize_chunks(k_post.narrow(2, 0, s), l);
  for (bool reuse : {true, false}) {
    auto method = make({{"sparse_budget", 40}, {"rank", 10}, {"outlier_chunks", 3}, {"reuse_hits", reuse}});
    method->reset(view, 1, s + steps);
    method->attend(call_for(0, s, AttentionPhase::kPrefill));
    at::Tensor previous = select_chunks(q_post.narrow(2, s - 1, 1), summary.landmarks, summary.landmark_ids, l.selected);
    int64_t want_hits = 0;
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t p = s + t;
      at::Tensor out = method->attend(call_for(p, 1, AttentionPhase::kDecode));
      at::Tensor sel = select_chunks(q_post.narrow(2, p, 1), summary.landmarks, summary.landmark_ids, l.selected);
      for (int64_t h = 0; h < hkv; ++h) {
        std::set<int64_t> a = row_set(previous[0][h]), bset = row_set(sel[0][h]);
        for (int64_t x : bset) want_hits += a.count(x);
        // Dense reference for the query heads of KV head h.
        at::Tensor ids = sel[0][h].unsqueeze(0);
        at::Tensor rebuilt = reconstruct_keys(f, sel, chunk, rope)[0][h];
        std::vector<at::Tensor> keys = {k_post[0][h].narrow(0, s - l.prefill_local, l.prefill_local)};
        std::vector<at::Tensor> values = {v[0][h].narrow(0, s - l.prefill_local, l.prefill_local)};
        for (int64_t o = 0; o < l.outliers; ++o) {
          const int64_t c = summary.outlier_ids[0][h][o].item<int64_t>();
          keys.push_back(k_post[0][h].narrow(0, c * chunk, chunk));
          values.push_back(v[0][h].narrow(0, c * chunk, chunk));
        }
        keys.push_back(rebuilt);
        for (int64_t j = 0; j < l.selected; ++j) values.push_back(v[0][h].narrow(0, ids[0][j].item<int64_t>() * chunk, chunk));
        keys.push_back(k_post[0][h].narrow(0, s, t + 1));
        values.push_back(v[0][h].narrow(0, s, t + 1));
        at::Tensor kk = at::cat(keys).to(at::kDouble), vv = at::cat(values).to(at::kDouble);
        for (int64_t g = 0; g < hq / hkv; ++g) {
          at::Tensor qh = q_post[0][h * (hq / hkv) + g][p].to(at::kDouble);
          at::Tensor want = at::matmul(at::softmax(at::matmul(kk, qh) * scale, 0), vv);
          EXPECT_LT((out[0][h * (hq / hkv) + g][0].to(at::kDouble) - want).abs().max().item<double>(), 1e-4)
              << "step " << t << " head " << h * (hq / hkv) + g;
        }
      }
      previous = sel;
      KVMemory m = method->memory();
      EXPECT_EQ(m.cache_lookups, (t + 1) * hkv * l.selected);
      EXPECT_EQ(m.cache_hits, reuse ? want_hits : 0) << "step " << t;
      EXPECT_EQ(m.host_to_device_bytes, (m.cache_lookups - m.cache_hits) * chunk * d * 4);
      EXPECT_DOUBLE_EQ(m.tokens_attended, static_cast<double>(l.prefill_local + chunk * (3 + 5) + t + 1));
    }
  }
}

std::vector<int64_t> random_prompt(int64_t n, int64_t vocab, uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor t = at::randint(3, vocab, {n}, at::kLong);
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
}

// Tolerance of the full-rank equivalence, relative to the step's logit scale max(1, max|logit|).
// At full rank the only numerical difference from the full cache is in the sparse chunks' keys,
// which ShadowKV rebuilds from an fp32 SVD of the [S, n] pre-RoPE key matrix (n = Hkv*d, S <= 203):
//  - the SVD (LAPACK gesdd: Householder bidiagonalization + divide and conquer) is backward stable,
//    ||K - U.S.Vh||_F <= p(n) * eps * ||K||_F with p(n) of order n (Higham, ASNA 2nd ed., ch. 19),
//    whichever SIMD path or thread count computes the Householder products;
//  - rebuilding U_r.(S_r Vh_r) is an r-term fp32 dot product per element: <= r * eps relative;
//  so the rebuilt keys carry a relative error eta <= (n + r) * eps (r = min(S, n) <= n).
// The keys enter the network only through the scores q.k/sqrt(d): a relative key error eta moves each
// score by at most eta * |q||k|/sqrt(d). On these tiny random checkpoints (RMSNorm'd inputs, weights of
// std 0.15*sqrt(256/hidden), <= 3 layers) |q||k|/sqrt(d) is O(1), softmax is 1/2-Lipschitz in the
// scores, and each later layer (attention + MLP) at most doubles a relative perturbation of the
// residual stream, so the logits move by at most kLogitAmplification * eta relative to their scale,
// with kLogitAmplification = 2^4 covering the <= 3 layers and the score magnitudes. The fp32 full
// cache itself differs from exact arithmetic by O(sqrt(S) * eps) from its own reductions, which is
// far inside this bound. A real defect (a wrong chunk, position or rotation) moves logits by O(0.1),
// and NotFullRankIsNotEqual below checks that a half-rank SVD exceeds this bound.
double full_rank_logit_bound(int64_t n, int64_t r, double logit_scale) {
  constexpr double kEps = 1.1920928955078125e-7;  // fp32 machine epsilon, 2^-23
  constexpr double kLogitAmplification = 16;
  return kLogitAmplification * static_cast<double>(n + r) * kEps * std::max(1.0, logit_scale);
}

struct StepComparison {
  double worst_diff = 0;         // max |logit difference| over steps
  double worst_ratio = 0;        // max over steps of diff / bound
  nlohmann::json stats;          // the method's counters after the run
};

// Runs full and `params` shadowkv on `prompt`, returns how the logits compare per step.
StepComparison compare_with_full(const CausalLM& model, const std::vector<int64_t>& prompt, const nlohmann::json& params,
                                 int64_t prefill_chunk, GenerateResult* got_out, GenerateResult* expected_out) {
  GenerateOptions options;
  options.max_new_tokens = 12;
  options.stop_on_eos = false;
  options.keep_logits = true;
  options.prefill_chunk = prefill_chunk;
  auto full = KVMethodRegistry::instance().find("full")->make({});
  *expected_out = generate(model, *full, {prompt}, options);
  auto method = make(params);
  *got_out = generate(model, *method, {prompt}, options);
  StepComparison out;
  out.stats = method->stats();
  const ModelConfig& c = model.config();
  const int64_t n = c.num_kv_heads * c.head_dim;
  const int64_t r = std::min<int64_t>({params.value("rank", int64_t{160}), static_cast<int64_t>(prompt.size()), n});
  const size_t steps = std::min(got_out->step_logits.size(), expected_out->step_logits.size());
  for (size_t i = 0; i < steps; ++i) {
    const at::Tensor& want = expected_out->step_logits[i];
    const double diff = (got_out->step_logits[i] - want).abs().max().item<double>();
    const double bound = full_rank_logit_bound(n, r, want.abs().max().item<double>());
    out.worst_diff = std::max(out.worst_diff, diff);
    out.worst_ratio = std::max(out.worst_ratio, diff / bound);
  }
  return out;
}

TEST(ShadowKV, BudgetsCoveringThePromptAtFullRankEqualFullCacheOnEveryTinyModel) {
  for (const auto& name : test::tiny_model_names()) {
    auto model = CausalLM::load(test::tiny_models_dir() + "/" + name, {at::kFloat, at::kCPU});
    nlohmann::json ref = test::tiny_reference(name);
    std::vector<std::vector<int64_t>> prompts = {ref["prompt"].get<std::vector<int64_t>>(),
                                                 random_prompt(203, model->config().vocab_size, 17)};
    for (size_t pi = 0; pi < prompts.size(); ++pi) {
      const nlohmann::json params = {{"sparse_budget", 1000000}, {"rank", 100000}, {"outlier_chunks", 3}};
      GenerateResult got, expected;
      // The long prompt in chunks.
      const StepComparison cmp = compare_with_full(*model, prompts[pi], params, pi == 1 ? 64 : 0, &got, &expected);
      std::printf("[shadowkv full rank] %s prompt %zu: max |logit diff| %.3g = %.3g of the bound\n", name.c_str(), pi,
                  cmp.worst_diff, cmp.worst_ratio);
      EXPECT_EQ(got.tokens, expected.tokens) << name;
      ASSERT_EQ(got.step_logits.size(), expected.step_logits.size());
      EXPECT_LE(cmp.worst_ratio, 1.0) << name << " prompt " << pi << ": max |logit diff| " << cmp.worst_diff;
      EXPECT_TRUE(cmp.stats["attends_whole_prompt"].get<bool>()) << cmp.stats.dump();
      EXPECT_DOUBLE_EQ(got.kv.tokens_attended,
                       static_cast<double>(prompts[pi].size() + expected.step_logits.size() - 1)) << name;
      EXPECT_GT(cmp.stats["selected_chunks"].get<int64_t>(), 0) << name;
    }
  }
}

// The negative control of the bound above: at half rank the rebuilt keys are not the original ones,
// and the logits leave the full-rank bound (the equivalence test can fail).
TEST(ShadowKV, NotFullRankIsNotEqual) {
  auto model = CausalLM::load(test::tiny_models_dir() + "/llama3", {at::kFloat, at::kCPU});
  const std::vector<int64_t> prompt = random_prompt(203, model->config().vocab_size, 17);
  const int64_t n = model->config().num_kv_heads * model->config().head_dim;
  GenerateResult got, expected;
  const nlohmann::json params = {{"sparse_budget", 1000000}, {"rank", n / 2}, {"outlier_chunks", 3}};
  const StepComparison cmp = compare_with_full(*model, prompt, params, 0, &got, &expected);
  std::printf("[shadowkv half rank] max |logit diff| %.3g = %.3g of the full-rank bound\n", cmp.worst_diff,
              cmp.worst_ratio);
  EXPECT_GT(cmp.worst_ratio, 1.0);
}

TEST(ShadowKV, AccountingMatchesTheFormulaAndTheTransferLayer) {
  struct Case {
    std::string model;
    at::ScalarType dtype;
    nlohmann::json budget;  // 32 tokens, or a fraction resolving to floor(0.16 * 203) = 32
    bool reuse;
  };
  std::vector<Case> cases;
  for (const auto& name : test::tiny_model_names()) cases.push_back({name, at::kFloat, 32, true});
  cases.push_back({"llama3", at::kFloat, 32, false});
  cases.push_back({"qwen3", at::kBFloat16, 0.16, true});
  for (const Case& cs : cases) {
    auto model = CausalLM::load(test::tiny_models_dir() + "/" + cs.model, {cs.dtype, at::kCPU});
    const ModelConfig& c = model->config();
    const int64_t s = 203, new_tokens = 10, rank = 16, chunk = 8;
    const std::string label = cs.model + " budget " + cs.budget.dump() + " reuse " + std::to_string(cs.reuse);
    auto method = make({{"sparse_budget", cs.budget}, {"rank", rank}, {"outlier_chunks", 3}, {"reuse_hits", cs.reuse}});
    GenerateOptions options;
    options.max_new_tokens = new_tokens;
    options.stop_on_eos = false;
    GenerateResult got = generate(*model, *method, {random_prompt(s, c.vocab_size, 23)}, options);
    // Layout: 25 chunks - 4 local = 21 context chunks, tail 35, 3 outliers, 18 landmarks, 4 selected.
    const int64_t chunks = 21, local = 35, outliers = 3, landmarks = 18, selected = 4;
    const int64_t e = cs.dtype == at::kFloat ? 4 : 2;
    const int64_t hkv = c.num_kv_heads, d = c.head_dim, layers = c.num_layers;
    const int64_t r = std::min<int64_t>(rank, hkv * d);
    // methods.md 1.9 per layer: U (S*r) + SV (Hkv*r*d) + landmarks (Hkv*C'*d) + ids (8 B each) +
    // resident slot ids (8 B each); KV rows: local + outliers + sparse + generated capacity.
    const int64_t metadata = (s * r + hkv * r * d + hkv * landmarks * d) * e + hkv * landmarks * 8 + hkv * selected * 8;
    const int64_t kv = 2 * hkv * (local + chunk * (outliers + selected) + new_tokens) * d * e;
    EXPECT_EQ(got.kv.metadata_device_bytes, layers * metadata) << label;
    EXPECT_EQ(got.kv.kv_device_bytes, layers * kv) << label;
    EXPECT_EQ(got.kv.device_bytes, layers * (metadata + kv)) << label;
    EXPECT_GE(got.kv.peak_device_bytes, got.kv.device_bytes) << label;
    EXPECT_EQ(got.kv.host_bytes, layers * hkv * chunks * chunk * d * e) << label;
    // Decode steps that selected: new_tokens - 1 (the last token is not fed back).
    const int64_t steps = new_tokens - 1;
    EXPECT_EQ(got.kv.cache_lookups, steps * layers * hkv * selected) << label;
    const int64_t misses = got.kv.cache_lookups - got.kv.cache_hits;
    EXPECT_EQ(got.kv.host_to_device_bytes, misses * chunk * d * e) << label;
    if (cs.reuse) {
      EXPECT_GT(got.kv.cache_hits, 0) << label;
    } else {
      EXPECT_EQ(got.kv.cache_hits, 0) << label;
    }
    ASSERT_EQ(static_cast<int64_t>(got.kv.layer_budgets.size()), layers);
    for (const LayerBudget& lb : got.kv.layer_budgets) {
      EXPECT_EQ(lb.local, local);
      EXPECT_EQ(lb.outliers, outliers * chunk);
      EXPECT_EQ(lb.selected, selected * chunk);
      EXPECT_EQ(lb.generated, steps);
    }
    EXPECT_DOUBLE_EQ(got.kv.tokens_attended, static_cast<double>(local + chunk * (outliers + selected) + steps));
    nlohmann::json stats = method->stats();
    EXPECT_EQ(stats["selected_chunks"], selected) << label;
    EXPECT_EQ(stats["rank"], r) << label;
  }
}

}  // namespace
}  // namespace kvbench
