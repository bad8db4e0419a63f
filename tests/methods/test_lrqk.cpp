// SPDX-License-Identifier: Apache-2.0
// lrqk: the factorization converges as the reference describes (block-exact alternating least
// squares: the objective never increases; the A_Q/A_K change falls below the tolerance within
// max_iter) on low-rank-plus-noise data; low-rank top-k against a dense fp64 reference of the score;
// the hit/miss slot update against the reference's documented example; one layer driven by hand
// (attends exactly its active slots + the lite ring, candidates as the reference narrows them,
// hits and host->device bytes per step = misses * row bytes through the transfer counter); budgets
// covering the sequence equal the full cache on every tiny model; the accounting equals
// harness/kv/memory_formulas.h on every tiny model.
// Ties: the selection tests draw continuous random scores and assert a margin between the k-th and
// (k+1)-th dense score, so the exact index sets are well defined (at::topk breaks exact ties in no
// promised order, nor does the reference's torch.topk).
#include "harness/kv/memory_formulas.h"
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "methods/lrqk_factors.h"
#include "tests/methods/attention_calls.h"
#include "tests/methods/eviction_reference.h"
#include "tests/methods/method_equivalence.h"
#include "tests/model/tiny_models.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace kvbench {
namespace {

const int kSingleThread = (at::set_num_threads(1), 0);

std::set<int64_t> row_set(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous().cpu();
  return std::set<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// Q, K [1, H, S, d] in fp64: a shared rank-`signal` row space plus Gaussian noise of std `noise`.
std::pair<at::Tensor, at::Tensor> low_rank_plus_noise(int64_t h, int64_t s, int64_t d, int64_t signal, double noise,
                                                      uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor basis = at::randn({1, h, s, signal}, at::kDouble);
  at::Tensor q = at::matmul(basis, at::randn({1, h, signal, d}, at::kDouble)) + noise * at::randn({1, h, s, d}, at::kDouble);
  at::Tensor k = at::matmul(basis, at::randn({1, h, signal, d}, at::kDouble)) + noise * at::randn({1, h, s, d}, at::kDouble);
  return {q, k};
}

TEST(Lrqk, FactorizationConvergesOnLowRankPlusNoise) {
  const int64_t h = 2, s = 96, d = 32, r = 4;
  for (double noise : {1e-3, 1e-2}) {
    auto [q, k] = low_rank_plus_noise(h, s, d, r, noise, 7);
    const lrqk::FactorInit init = lrqk::random_init(3, 1, h, s, r, q.options());
    // Every update (B_Q, B_K, A_Q, A_K) is the exact minimiser of the objective in its block, so the
    // objective after n + 1 iterations is <= after n. Rounding: each objective is an fp64 sum of
    // ~S^2 + 2 S d squared terms (relative error <= 2e4 * 1.1e-16 ~ 2e-12), and the solves are
    // regular (the factors have full rank r); 1e-10 relative slack covers both with margin.
    double previous = lrqk::objective(q, k, lrqk::fit_prefill(q, k, init.a_q, init.a_k, /*max_iter=*/0, 0.0));
    const double initial = previous;
    for (int64_t iters = 1; iters <= 10; ++iters) {
      const lrqk::Factors f = lrqk::fit_prefill(q, k, init.a_q, init.a_k, iters, 0.0);
      const double now = lrqk::objective(q, k, f);
      EXPECT_LE(now, previous * (1 + 1e-10)) << "noise " << noise << " iterations " << iters;
      previous = now;
    }
    EXPECT_LT(previous, 1e-2 * initial) << "noise " << noise;
    // With the stopping rule: the change falls below the tolerance before max_iter.
    const lrqk::Factors f = lrqk::fit_prefill(q, k, init.a_q, init.a_k, 50, 1e-6);
    EXPECT_LT(f.iterations, 50) << "noise " << noise;
    ASSERT_FALSE(f.deltas.empty());
    EXPECT_LT(f.deltas.back(), 1e-6);
    // The default tolerance 1e-2 stops no later than the stricter one, and never before 1 iteration.
    const lrqk::Factors loose = lrqk::fit_prefill(q, k, init.a_q, init.a_k, 50, 1e-2);
    EXPECT_GE(loose.iterations, 1);
    EXPECT_LE(loose.iterations, f.iterations);
  }
}

TEST(Lrqk, TopTokensEqualDenseLowRankScores) {
  at::manual_seed(21);
  const int64_t b = 2, h = 3, n = 50, r = 8, count = 11;
  at::Tensor a_k = at::randn({b, h, n, r}), hat_q = at::randn({b, h, 1, r});
  at::Tensor got = lrqk::top_tokens(a_k, hat_q, count);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{b, h, count}));
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t hi = 0; hi < h; ++hi) {
      at::Tensor score = at::matmul(a_k[bi][hi].to(at::kDouble), hat_q[bi][hi][0].to(at::kDouble));  // [n]
      std::vector<int64_t> order(n);
      for (int64_t i = 0; i < n; ++i) order[i] = i;
      std::sort(order.begin(), order.end(),
                [&](int64_t x, int64_t y) { return score[x].item<double>() > score[y].item<double>(); });
      // fp32 scores of r = 8 terms carry <= 8 * eps * |a||q| error; a 1e-4 margin is far above it.
      ASSERT_GT(score[order[count - 1]].item<double>() - score[order[count]].item<double>(), 1e-4) << "near tie";
      EXPECT_EQ(row_set(got[bi][hi]), std::set<int64_t>(order.begin(), order.begin() + count));
      at::Tensor row = got[bi][hi];
      EXPECT_TRUE(at::equal(row, std::get<0>(at::sort(row)))) << "ascending token order";
    }
  // Fewer candidates than the count: all of them, in order.
  at::Tensor all = lrqk::top_tokens(a_k.narrow(2, 0, 5), hat_q, count);
  EXPECT_TRUE(at::equal(all, at::arange(5, at::kLong).expand({b, h, 5})));
}

TEST(Lrqk, SlotUpdateFollowsTheReferenceExample) {
  // only_indices_in_cpu's docstring: now [0, 1, 2, 6, 7], new [0, 2, 4, 5, 6] -> [0, 4, 2, 6, 5],
  // refilled slots [0, 1, 0, 0, 1]. Second row: every token already resident (no miss).
  at::Tensor now = at::tensor(std::vector<int64_t>{0, 1, 2, 6, 7, 3, 9, 4, 8, 1}).view({1, 2, 5});
  at::Tensor wanted = at::tensor(std::vector<int64_t>{0, 2, 4, 5, 6, 1, 3, 4, 8, 9}).view({1, 2, 5});
  lrqk::SlotUpdate u = lrqk::replace_missing(now, wanted);
  EXPECT_TRUE(at::equal(u.resident, at::tensor(std::vector<int64_t>{0, 4, 2, 6, 5, 3, 9, 4, 8, 1}).view({1, 2, 5})));
  EXPECT_TRUE(at::equal(u.refill, at::tensor(std::vector<int64_t>{0, 1, 0, 0, 1, 0, 0, 0, 0, 0}).view({1, 2, 5}).to(at::kBool)));
  EXPECT_EQ(u.misses, 2);
}

nlohmann::json params(nlohmann::json overrides) {
  nlohmann::json p = {{"active", 2048}, {"lite", 64}, {"rank", 32}, {"max_iter_prefill", 2},
                      {"max_iter_decode", 2}, {"tol_prefill", 1e-2}, {"tol_decode", 1e-2}, {"seed", 0}};
  p.update(overrides);
  return p;
}

// One layer, random queries/keys, one-hot values (the attention output names the rows attended).
TEST(Lrqk, DecodeAttendsActiveSlotsPlusLiteRingAndCountsMisses) {
  const int64_t hq = 4, hkv = 2, d = 64, s = 40, active = 8, lite = 4, rank = 4, steps = 10, group = hq / hkv;
  const test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, s + steps, d, 5);
  KVShape shape{1, hq, hkv, d};
  auto method = test::make_method("lrqk", params({{"active", active}, {"lite", lite}, {"rank", rank}}));
  method->reset({shape, nullptr, nullptr}, 1, s + steps);
  method->attend(seq.call(0, s, AttentionPhase::kPrefill));
  // The prefill choice (dense fp64 reference): the fit from the method's seeded init, then the
  // last query's low-rank scores over all but the last `lite` tokens.
  const at::Tensor k_rep = seq.key.narrow(2, 0, s).repeat_interleave(group, 1);
  const lrqk::FactorInit init = lrqk::random_init(0, 1, hq, s, rank, seq.query.options());
  const lrqk::Factors f = lrqk::fit_prefill(seq.query.narrow(2, 0, s), k_rep, init.a_q, init.a_k, 2, 1e-2);
  std::vector<std::set<int64_t>> resident(hq);
  for (int64_t h = 0; h < hq; ++h) {
    at::Tensor score = at::matmul(f.a_k[0][h].narrow(0, 0, s - lite).to(at::kDouble), f.a_q[0][h][s - 1].to(at::kDouble));
    std::vector<double> v(score.data_ptr<double>(), score.data_ptr<double>() + score.numel());
    auto top = test::reference_top(v, active, 1e-5);
    resident[h] = std::set<int64_t>(top.begin(), top.end());
  }
  int64_t misses = 0, previous_bytes = 0;
  for (int64_t t = 0; t < steps; ++t) {
    const int64_t n = s + t + 1;  // tokens after this step
    at::Tensor out = method->attend(seq.call(s + t, 1, AttentionPhase::kDecode));
    int64_t step_misses = 0;
    for (int64_t h = 0; h < hq; ++h) {
      const test::PositionSet attended = test::attended_positions(out, h);
      ASSERT_EQ(static_cast<int64_t>(attended.size()), active + lite) << "step " << t << " head " << h;
      std::set<int64_t> chosen;
      for (int64_t p : attended) {
        if (p >= n - lite) continue;  // the lite ring: the last `lite` tokens
        // Candidates: tokens before the ring's oldest minus one (the reference's narrow).
        EXPECT_LT(p, n - lite - 1) << "step " << t << " head " << h;
        chosen.insert(p);
      }
      ASSERT_EQ(static_cast<int64_t>(chosen.size()), active) << "step " << t << " head " << h;
      for (int64_t p : chosen) step_misses += resident[h].count(p) == 0;
      resident[h] = chosen;
    }
    misses += step_misses;
    const KVMemory m = method->memory();
    EXPECT_EQ(m.cache_lookups, (t + 1) * hq * active);
    EXPECT_EQ(m.cache_lookups - m.cache_hits, misses) << "step " << t;
    // Per step: the transfer counter moved one K and one V row of d fp32 per miss.
    EXPECT_EQ(m.host_to_device_bytes - previous_bytes, kv_formula::lrqk_fetch_bytes(step_misses, d, 4)) << "step " << t;
    previous_bytes = m.host_to_device_bytes;
    EXPECT_DOUBLE_EQ(m.tokens_attended, static_cast<double>(active + lite));
  }
  EXPECT_GT(misses, 0) << "the selection never changed: the test would not see the transfers";
}

// Acceptance 1: a budget covering the sequence (prompt + generated) attends every row, so the logits
// equal the full cache's within the bound argued at test::EquivalenceOptions::logit_tolerance: the
// rows and their order are the full cache's, only the reduction order of the attention may differ
// (the working set is [B, Hq, n, d], the full cache's GQA attention reads [B, Hkv, n, d]).
TEST(Lrqk, BudgetCoveringTheSequenceEqualsFullCacheOnEveryTinyModel) {
  // Reference prompt: 64 tokens, 16 generated.
  test::expect_equivalent_to_full("lrqk", params({{"active", 1000000}}));  // never fitted (collecting)
  test::expect_equivalent_to_full("lrqk", params({{"active", 48}, {"lite", 64}}));  // fitted at the prompt
  test::expect_equivalent_to_full("lrqk", params({{"active", 0.75}, {"lite", 40}}));  // fraction: 48
  test::expect_equivalent_to_full("lrqk", params({{"active", 70}, {"lite", 32}}));  // fitted at a decode step
  // The last three did go through the fit and the working set (not the collecting path).
  const CausalLM& model = test::tiny_model("llama3");
  const std::vector<int64_t> prompt = test::tiny_reference("llama3")["prompt"].get<std::vector<int64_t>>();
  GenerateOptions options;
  options.max_new_tokens = 16;
  options.stop_on_eos = false;
  for (const nlohmann::json& p : {params({{"active", 48}, {"lite", 64}}), params({{"active", 0.75}, {"lite", 40}}),
                                  params({{"active", 70}, {"lite", 32}})}) {
    auto method = test::make_method("lrqk", p);
    generate(model, *method, {prompt}, options);
    const nlohmann::json stats = method->stats();
    EXPECT_TRUE(stats["factored"].get<bool>()) << p.dump();
    EXPECT_GE(stats["prefill_iterations"].get<int64_t>(), 1) << p.dump();
    EXPECT_EQ(stats["cache_lookups"].get<int64_t>(), 0) << "the window covers the sequence: no selection";
  }
}

// The negative control: a budget below the sequence drops rows and leaves the bound above.
TEST(Lrqk, SmallBudgetIsNotEqual) {
  const CausalLM& model = test::tiny_model("llama3");
  const std::vector<int64_t> prompt = test::tiny_reference("llama3")["prompt"].get<std::vector<int64_t>>();
  GenerateOptions options;
  options.max_new_tokens = 8;
  options.stop_on_eos = false;
  options.keep_logits = true;
  auto full = test::make_method("full", nlohmann::json::object());
  auto lrqk = test::make_method("lrqk", params({{"active", 8}, {"lite", 8}, {"rank", 8}}));
  const GenerateResult want = generate(model, *full, {prompt}, options);
  const GenerateResult got = generate(model, *lrqk, {prompt}, options);
  double worst_ratio = 0;
  for (size_t i = 0; i < want.step_logits.size(); ++i) {
    constexpr double kEps = 1.1920928955078125e-7;
    const double bound = 16 * static_cast<double>(prompt.size() + i) * kEps *
                         std::max(1.0, want.step_logits[i].abs().max().item<double>());
    worst_ratio = std::max(worst_ratio, (got.step_logits[i] - want.step_logits[i]).abs().max().item<double>() / bound);
  }
  EXPECT_GT(worst_ratio, 1.0);
}

// Acceptance 3: device, host and host->device bytes equal the formulas after every step, on every
// tiny model (fp32, and bf16 on one), with the layer budgets adding up to the tokens attended.
TEST(Lrqk, AccountingMatchesTheFormulasOnEveryTinyModel) {
  struct Case {
    std::string model;
    at::ScalarType dtype;
  };
  std::vector<Case> cases;
  for (const auto& name : test::tiny_model_names()) cases.push_back({name, at::kFloat});
  cases.push_back({"qwen3", at::kBFloat16});
  for (const Case& cs : cases) {
    auto model = CausalLM::load(test::tiny_models_dir() + "/" + cs.model, {cs.dtype, at::kCPU});
    const KVShape shape = model->config().kv_shape();
    const int64_t s = 150, new_tokens = 10, active = 24, lite = 8, rank = 8, e = at::elementSize(cs.dtype);
    const std::vector<int64_t> prompt =
        test::equivalence_prompt(test::tiny_reference(cs.model), s, model->config().vocab_size);
    auto method = test::make_method("lrqk", params({{"active", active}, {"lite", lite}, {"rank", rank}}));
    GenerateOptions options;
    options.max_new_tokens = new_tokens;
    options.stop_on_eos = false;
    const GenerateResult r = generate(*model, *method, {prompt}, options);
    const int64_t slots = s + new_tokens;  // generate's reset() hint: the stores never grow past it
    ASSERT_EQ(r.kv_steps.size(), static_cast<size_t>(new_tokens - 1)) << cs.model;
    for (const KVMemory& m : r.kv_steps) {
      EXPECT_EQ(m.kv_device_bytes, kv_formula::lrqk_working_set_bytes(shape, 1, active, lite, e)) << cs.model;
      EXPECT_EQ(m.metadata_device_bytes, kv_formula::lrqk_metadata_bytes(shape, 1, slots, rank, active, e)) << cs.model;
      EXPECT_EQ(m.host_bytes, kv_formula::kv_rows_bytes(shape, 1, slots, e)) << cs.model;
      EXPECT_EQ(m.host_to_device_bytes, kv_formula::lrqk_fetch_bytes(m.cache_lookups - m.cache_hits, shape.head_dim, e))
          << cs.model;
      EXPECT_DOUBLE_EQ(m.tokens_attended, static_cast<double>(active + lite));
      ASSERT_EQ(m.layer_budgets.size(), static_cast<size_t>(shape.num_layers));
      for (const LayerBudget& lb : m.layer_budgets) {
        EXPECT_EQ(lb.selected, active);
        EXPECT_EQ(lb.local, lite);
        EXPECT_EQ(lb.total(), active + lite);
      }
    }
    EXPECT_GT(r.kv.cache_lookups - r.kv.cache_hits, 0) << cs.model;
    EXPECT_EQ(r.kv.cache_lookups, (new_tokens - 1) * shape.num_layers * shape.num_heads * active) << cs.model;
  }
  // methods.md 1.9: A_K is 2048 B per token and layer for Llama-3.1-8B (Hq 32) at r 32 in bf16.
  EXPECT_EQ(kv_formula::lrqk_a_k_bytes_per_token_layer(32, 32, 2), 2048);
}

}  // namespace
}  // namespace kvbench
