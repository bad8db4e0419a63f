// SPDX-License-Identifier: Apache-2.0
// quest: page digests, page scores and page selection equal a dense fp64 reference of Quest's rule
// (exact page sets per query head; ties go to the lower page index); the method's decode output
// equals exact attention over the reference's pages at every step (digests kept across page
// boundaries, GQA, chunked prefill, dense first layers); with a budget covering the whole sequence it
// reproduces the full cache on every tiny model; its device bytes are full KV + 2 digests per page.
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/kv/memory_formulas.h"
#include "harness/kv/method.h"
#include "methods/quest_pages.h"
#include "tests/methods/method_equivalence.h"
#include "tests/model/tiny_models.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

namespace kvbench {
namespace {

constexpr int64_t kPage = 16;

// CPU always; CUDA too when this build and machine have it (the same code paths on the device).
std::vector<at::Device> devices() {
  std::vector<at::Device> out{at::kCPU};
  if (at::hasCUDA()) out.emplace_back(at::kCUDA);
  return out;
}

// Page size 16 and the 3-page floor are the defaults.
std::unique_ptr<KVMethod> make(const nlohmann::json& budget, int64_t dense_layers, bool keep_current) {
  return test::make_method("quest", {{"token_budget", budget}, {"dense_layers", dense_layers},
                                     {"keep_current_page", keep_current}});
}

// --- Dense references ----------------------------------------------------------------------------

// Element-wise max / min of each page's rows, page by page: {max, min} [B, H, P, d].
std::pair<at::Tensor, at::Tensor> reference_digests(const at::Tensor& keys, int64_t page) {
  std::vector<at::Tensor> maxs, mins;
  for (int64_t start = 0; start < keys.size(2); start += page) {
    at::Tensor rows = keys.narrow(2, start, std::min(page, keys.size(2) - start));
    maxs.push_back(std::get<0>(rows.max(2)));
    mins.push_back(std::get<0>(rows.min(2)));
  }
  return {at::stack(maxs, 2), at::stack(mins, 2)};
}

// score[b, h, p] = sum_j max(q_j * max_j, q_j * min_j) in fp64, KV heads repeated to query heads.
at::Tensor reference_scores(const at::Tensor& q, const at::Tensor& page_max, const at::Tensor& page_min) {
  const int64_t group = q.size(1) / page_max.size(1);
  at::Tensor qd = q.to(at::kDouble).unsqueeze(2);  // [B, Hq, 1, d]
  at::Tensor mx = page_max.to(at::kDouble).repeat_interleave(group, 1);
  at::Tensor mn = page_min.to(at::kDouble).repeat_interleave(group, 1);
  return at::maximum(qd * mx, qd * mn).sum(-1);  // [B, Hq, P]
}

// Pages per (sequence, query head): the k best by (score descending, page ascending); keep_last:
// the last page plus the k-1 best of the others.
std::vector<std::vector<std::set<int64_t>>> reference_select(const at::Tensor& scores, int64_t k, bool keep_last) {
  at::Tensor s = scores.to(at::kDouble).contiguous();
  const int64_t b = s.size(0), h = s.size(1), pages = s.size(2);
  std::vector<std::vector<std::set<int64_t>>> out(b, std::vector<std::set<int64_t>>(h));
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < h; ++j) {
      std::vector<std::pair<double, int64_t>> ranked;
      const int64_t candidates = keep_last ? pages - 1 : pages;
      for (int64_t p = 0; p < candidates; ++p) ranked.push_back({-s[i][j][p].item<double>(), p});
      std::sort(ranked.begin(), ranked.end());
      const int64_t take = keep_last ? k - 1 : k;
      for (int64_t r = 0; r < take; ++r) out[i][j].insert(ranked[r].second);
      if (keep_last) out[i][j].insert(pages - 1);
    }
  return out;
}

std::vector<std::vector<std::set<int64_t>>> as_sets(const at::Tensor& pages) {
  at::Tensor p = pages.cpu();
  std::vector<std::vector<std::set<int64_t>>> out(p.size(0), std::vector<std::set<int64_t>>(p.size(1)));
  for (int64_t i = 0; i < p.size(0); ++i)
    for (int64_t j = 0; j < p.size(1); ++j)
      for (int64_t r = 0; r < p.size(2); ++r) out[i][j].insert(p[i][j][r].item<int64_t>());
  return out;
}

// softmax(q k^T * scale) v in fp64 over the keys allowed by mask [B, Hq, S] (GQA by repetition).
at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& mask, double scale) {
  const int64_t group = q.size(1) / k.size(1);
  at::Tensor kr = k.to(at::kDouble).repeat_interleave(group, 1);
  at::Tensor vr = v.to(at::kDouble).repeat_interleave(group, 1);
  at::Tensor logits = at::matmul(q.to(at::kDouble), kr.transpose(-1, -2)) * scale;  // [B, Hq, 1, S]
  logits = logits.masked_fill(mask.unsqueeze(2).logical_not(), -INFINITY);
  return at::matmul(at::softmax(logits, -1), vr);
}

// Token mask [B, Hq, S] of the given pages per (sequence, head), and the mean tokens per head.
std::pair<at::Tensor, double> page_mask(const std::vector<std::vector<std::set<int64_t>>>& pages, int64_t s) {
  const int64_t b = static_cast<int64_t>(pages.size()), h = static_cast<int64_t>(pages[0].size());
  at::Tensor mask = at::zeros({b, h, s}, at::kBool);
  double tokens = 0;
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < h; ++j)
      for (int64_t p : pages[i][j]) {
        const int64_t n = std::min(kPage, s - p * kPage);
        mask[i][j].narrow(0, p * kPage, n).fill_(true);
        tokens += static_cast<double>(n);
      }
  return {mask, tokens / static_cast<double>(b * h)};
}

// --- Tests ---------------------------------------------------------------------------------------

TEST(Quest, DigestsScoresAndSelectionEqualTheDenseReference) {
  struct Shape { int64_t b, hq, hkv, s, d; };
  at::manual_seed(11);
  for (const Shape& shape : {Shape{2, 8, 2, 83, 32}, Shape{1, 3, 1, 64, 64}, Shape{1, 4, 4, 17, 16},
                             Shape{3, 6, 2, 200, 8}}) {
    at::Tensor keys = at::randn({shape.b, shape.hkv, shape.s, shape.d});
    at::Tensor q = at::randn({shape.b, shape.hq, shape.d});
    auto want = reference_digests(keys, kPage);
    at::Tensor ref = reference_scores(q, want.first, want.second);
    const int64_t pages = ref.size(2);
    for (const at::Device& device : devices()) {
      at::Tensor keys_on = keys.to(device);
      at::Tensor digests = quest_page_digests(keys_on, kPage).cpu();
      ASSERT_TRUE(at::equal(digests.narrow(3, 0, shape.d), want.first)) << device << " page max, S " << shape.s;
      ASSERT_TRUE(at::equal(digests.narrow(3, shape.d, shape.d), want.second)) << device << " page min, S " << shape.s;
      // Digests folded in one key at a time equal the batch digests.
      at::Tensor folded = at::empty(digests.sizes(), keys_on.options());
      for (int64_t slot = 0; slot < shape.s; ++slot)
        quest_update_digest(folded, keys_on.narrow(2, slot, 1), slot, kPage);
      EXPECT_TRUE(at::equal(folded.cpu(), digests)) << device << " S " << shape.s;

      at::Tensor device_scores = quest_page_scores(q.to(device), digests.to(device));
      EXPECT_LT((device_scores.cpu().to(at::kDouble) - ref).abs().max().item<double>(), 1e-4) << device;
      for (bool keep_last : {false, true})
        for (int64_t k : {int64_t{1}, int64_t{3}, pages / 2, pages - 1, pages}) {
          if (k < 1 || k > pages) continue;
          EXPECT_EQ(as_sets(quest_select_pages(device_scores, k, keep_last)), reference_select(ref, k, keep_last))
              << device << " S " << shape.s << " k " << k << " keep_last " << keep_last;
        }
    }
  }
}

TEST(Quest, TiesGoToTheLowerPage) {
  // Small integers: every score is exact in fp32 whatever the summation order, so ties are real.
  at::manual_seed(5);
  at::Tensor page_min = at::randint(-3, 1, {1, 1, 6, 4}).to(at::kFloat);
  at::Tensor page_max = page_min + at::randint(0, 4, {1, 1, 6, 4}).to(at::kFloat);
  for (int64_t p : {1, 2, 4}) {  // three identical pages, far above the others
    page_max.select(2, p).fill_(10);
    page_min.select(2, p).fill_(9);
  }
  at::Tensor q = at::tensor({1.0f, -1.0f, 2.0f, 1.0f}).reshape({1, 1, 4});
  at::Tensor scores = quest_page_scores(q, at::cat({page_max, page_min}, -1));
  EXPECT_EQ(scores[0][0][1].item<float>(), 31.0f);
  EXPECT_EQ(scores[0][0][2].item<float>(), 31.0f);
  EXPECT_EQ(scores[0][0][4].item<float>(), 31.0f);
  EXPECT_EQ(as_sets(quest_select_pages(scores, 2, false))[0][0], (std::set<int64_t>{1, 2}));
  EXPECT_EQ(as_sets(quest_select_pages(scores, 3, true))[0][0], (std::set<int64_t>{1, 2, 5}));
  EXPECT_EQ(reference_select(scores, 2, false)[0][0], (std::set<int64_t>{1, 2}));
}

TEST(Quest, DecodeAttendsTheReferencePagesAtEveryStep) {
  ModelConfig config;
  config.num_layers = 2;  // layer 0 dense (dense_layers = 1), layer 1 sparse
  ModelView view{config.kv_shape(), nullptr, nullptr};
  const int64_t b = 2, hq = 4, hkv = 2, d = 32, prompt = 70, steps = 14, budget = 48;  // k = 3 pages
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  at::manual_seed(3);
  at::Tensor k = at::randn({b, hkv, prompt + steps, d}), v = at::randn({b, hkv, prompt + steps, d});
  at::Tensor q = at::randn({b, hq, prompt + steps, d});
  at::Tensor positions = at::arange(prompt + steps, at::kLong).unsqueeze(0).expand({b, prompt + steps});

  for (const at::Device& device : devices()) {
    for (bool keep_current : {false, true}) {
      auto method = make(budget, 1, keep_current);
      method->reset(view, b, prompt + steps);
      auto call_for = [&](int64_t layer, int64_t begin, int64_t n, AttentionPhase phase, bool last) {
        AttentionCall call;
        call.layer = layer;
        call.phase = phase;
        call.last_prefill_chunk = last;
        call.slot_offset = begin;
        call.query = q.narrow(2, begin, n).to(device);
        call.key = k.narrow(2, begin, n).to(device);
        call.key_pre_rope = call.key;
        call.value = v.narrow(2, begin, n).to(device);
        call.positions = positions.narrow(1, begin, n).to(device);
        call.valid = at::ones({b, n}, at::TensorOptions(device).dtype(at::kBool));
        call.scale = scale;
        return call;
      };
      // Chunked prefill is dense: the prompt's last query sees all 70 keys in both layers.
      for (int64_t layer : {0, 1}) method->attend(call_for(layer, 0, 30, AttentionPhase::kPrefill, false));
      for (int64_t layer : {0, 1}) {
        at::Tensor out = method->attend(call_for(layer, 30, prompt - 30, AttentionPhase::kPrefill, true));
        at::Tensor want = masked_attention(q.narrow(2, prompt - 1, 1), k.narrow(2, 0, prompt),
                                           v.narrow(2, 0, prompt), at::ones({b, hq, prompt}, at::kBool), scale);
        at::Tensor last = out.narrow(2, out.size(2) - 1, 1).cpu().to(at::kDouble);
        EXPECT_LT((last - want).abs().max().item<double>(), 1e-5);
      }
      EXPECT_DOUBLE_EQ(method->memory().tokens_attended, static_cast<double>(prompt));

      for (int64_t step = 0; step < steps; ++step) {
        const int64_t p = prompt + step, s = p + 1;  // slots 70..83 cross the page boundary at 80
        at::Tensor keys = k.narrow(2, 0, s), values = v.narrow(2, 0, s), query = q.narrow(2, p, 1);
        at::Tensor dense = method->attend(call_for(0, p, 1, AttentionPhase::kDecode, true)).cpu();
        at::Tensor sparse = method->attend(call_for(1, p, 1, AttentionPhase::kDecode, true)).cpu();
        at::Tensor all = at::ones({b, hq, s}, at::kBool);
        at::Tensor everything = masked_attention(query, keys, values, all, scale);
        EXPECT_LT((dense.to(at::kDouble) - everything).abs().max().item<double>(), 1e-5);

        auto digests = reference_digests(keys, kPage);
        at::Tensor scores = reference_scores(query.select(2, 0), digests.first, digests.second);
        auto pages = reference_select(scores, 3, keep_current);
        auto [mask, tokens] = page_mask(pages, s);
        at::Tensor want = masked_attention(query, keys, values, mask, scale);
        EXPECT_LT((sparse.to(at::kDouble) - want).abs().max().item<double>(), 1e-5)
            << device << " keep_current " << keep_current << " step " << step;
        // Not vacuous: attention over every page differs clearly from the selected pages' answer.
        EXPECT_GT((everything - want).abs().max().item<double>(), 1e-2);

        KVMemory m = method->memory();
        EXPECT_NEAR(m.tokens_attended, (static_cast<double>(s) + tokens) / 2, 1e-9) << "step " << step;
        ASSERT_EQ(m.layer_budgets.size(), 2u);
        EXPECT_EQ(m.layer_budgets[0].local, prompt);
        EXPECT_EQ(m.layer_budgets[0].generated, s - prompt);
        EXPECT_EQ(m.layer_budgets[1].selected, static_cast<int64_t>(std::lround(tokens)));
        EXPECT_EQ(m.layer_budgets[1].total(), m.layer_budgets[1].selected);
      }
      nlohmann::json stats = method->stats();
      EXPECT_EQ(stats["pages_per_head"], 3);
      EXPECT_EQ(stats["sparse_layer_steps"], steps);
      EXPECT_EQ(stats["dense_layer_steps"], steps);
    }
  }
}

TEST(Quest, BudgetCoveringTheSequenceEqualsFullCacheOnEveryTinyModel) {
  // Every layer through Quest (dense_layers 0): 4096 tokens; then exactly the pages of the final
  // sequence (150-token prompt + 7 cached generated tokens = 157 slots, 10 pages = 160 tokens) with
  // chunked prefill and the current page kept, on two of the models (keeps the test short).
  test::expect_equivalent_to_full("quest", {{"token_budget", 4096}, {"dense_layers", 0}});
  test::EquivalenceOptions options;
  options.prompt_tokens = 150;
  options.prefill_chunk = 64;
  options.max_new_tokens = 8;
  options.models = {"llama3", "qwen3_moe"};
  test::expect_equivalent_to_full("quest", {{"token_budget", 160}, {"dense_layers", 0}, {"keep_current_page", true}},
                                  options);
}

TEST(Quest, DeviceBytesAreFullKvPlusTwoDigestsPerPage) {
  const std::string name = "llama3";  // 2 layers, 2 KV heads, head_dim 128
  auto model = CausalLM::load(test::tiny_models_dir() + "/" + name, {at::kFloat, at::kCPU});
  std::vector<int64_t> prompt = test::tiny_reference(name)["prompt"].get<std::vector<int64_t>>();
  const ModelConfig& config = model->config();
  GenerateOptions options;
  options.max_new_tokens = 8;
  options.stop_on_eos = false;
  for (const nlohmann::json& budget : {nlohmann::json(32), nlohmann::json(0.25)}) {
    auto method = make(budget, 1, false);
    GenerateResult got = generate(*model, *method, {prompt}, options);
    // Capacity = the reset() hint (prompt + max new tokens); digests for the layers past dense_layers.
    const int64_t capacity = static_cast<int64_t>(prompt.size()) + options.max_new_tokens;
    const int64_t row = config.num_kv_heads * config.head_dim * 4;  // one token's K (or V), fp32
    const int64_t pages = (capacity + kPage - 1) / kPage;
    EXPECT_EQ(got.kv.kv_device_bytes, config.num_layers * 2 * capacity * row);
    EXPECT_EQ(got.kv.metadata_device_bytes, (config.num_layers - 1) * 2 * pages * row);
    EXPECT_EQ(got.kv.metadata_device_bytes, kv_formula::quest_metadata_bytes(config.kv_shape(), 1, capacity, kPage, 4, 1));
    EXPECT_EQ(got.kv.kv_device_bytes, kv_formula::full_cache_kv_bytes(config.kv_shape(), 1, capacity, 4));
    EXPECT_EQ(got.kv.device_bytes, got.kv.kv_device_bytes + got.kv.metadata_device_bytes);
    EXPECT_EQ(got.kv.host_bytes, 0);
    EXPECT_EQ(got.kv.host_to_device_bytes, 0);
    // Last step: 71 cached tokens in 5 pages, 3 pages per query head in layer 1 (budget 32 tokens or
    // 25% of 64 = 16 tokens, both under the 3-page floor); the gathered rows are transient.
    EXPECT_EQ(method->stats()["budget_tokens"], budget.is_number_float() ? 16 : 32);
    EXPECT_EQ(method->stats()["pages_per_head"], 3);
    const int64_t s = static_cast<int64_t>(prompt.size()) + options.max_new_tokens - 1;
    ASSERT_EQ(got.kv.layer_budgets.size(), 2u);
    EXPECT_EQ(got.kv.layer_budgets[0].total(), s);
    const int64_t selected = got.kv.layer_budgets[1].selected;
    EXPECT_GE(selected, 3 * kPage - (5 * kPage - s));
    EXPECT_LE(selected, 3 * kPage);
    EXPECT_EQ(got.kv.transient_device_bytes, 2 * config.num_heads * 3 * kPage * config.head_dim * 4);
    EXPECT_EQ(got.kv.peak_device_bytes, got.kv.device_bytes + got.kv.transient_device_bytes);
    const double rows = method->stats()["kv_rows_read_per_kv_head"].get<double>();
    EXPECT_GE(rows, static_cast<double>(selected) - 0.5);
    EXPECT_LE(rows, static_cast<double>(s));
  }
}

TEST(Quest, RejectsBudgetsThatAreNeitherFractionsNorWholeTokens) {
  EXPECT_THROW(make(2048.5, 2, false), Error);
  EXPECT_NO_THROW(make(0.03125, 2, false));
}

}  // namespace
}  // namespace kvbench
