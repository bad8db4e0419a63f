// SPDX-License-Identifier: Apache-2.0
// arkvale: the page rule against dense fp64 loops (cuboid and cuboid-mean digests, the upper-bound
// score averaged per ranking group, the top-k page set), the page table's recall/evict rule, a
// hand-driven layer whose every decode output must attend exactly the pages a straightforward
// simulation of the policy keeps (read from one-hot values), equality with the full cache when the
// budget covers the prompt on every tiny model, and the accounting (device, host and host-to-device
// bytes against harness/kv/memory_formulas.h and the transfer layer's counter).
// Ties: the random fp32 inputs are checked for a relative gap of 1e-5 between every two candidate
// scores (fp32 and fp64 round them apart by ~1e-6 at most), so exact index sets are well defined; a
// failure of that check means "pick another seed", not a defect. The implementation breaks exact
// ties toward the lower page id (ranking) and evicts the lower page id first.
#include "harness/kv/memory_formulas.h"
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "methods/arkvale_pages.h"
#include "tests/methods/attention_calls.h"
#include "tests/methods/eviction_reference.h"
#include "tests/methods/method_equivalence.h"
#include "tests/model/tiny_models.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kvbench {
namespace {

using namespace arkvale;

const int kSingleThread = (at::set_num_threads(1), 0);

// fp64 digests by loops: [upper | lower] of page p, head h.
std::vector<double> loop_digest(const at::Tensor& keys, int64_t b, int64_t h, int64_t p, int64_t page, DigestKind kind) {
  const int64_t d = keys.size(3);
  at::Tensor rows = keys[b][h].narrow(0, p * page, page).to(at::kDouble).contiguous();
  const double* x = rows.data_ptr<double>();
  std::vector<double> out(static_cast<size_t>(2 * d));
  for (int64_t j = 0; j < d; ++j) {
    double hi = x[j], lo = x[j];
    for (int64_t i = 1; i < page; ++i) hi = std::max(hi, x[i * d + j]), lo = std::min(lo, x[i * d + j]);
    if (kind == DigestKind::kCuboidMean) {
      const double c = (hi + lo) / 2;
      double r = 0;
      for (int64_t i = 0; i < page; ++i) r += std::abs(c - x[i * d + j]);
      r /= static_cast<double>(page);
      hi = c + r;
      lo = c - r;
    }
    out[static_cast<size_t>(j)] = hi;
    out[static_cast<size_t>(d + j)] = lo;
  }
  return out;
}

// fp64 page scores by loops: mean over the group's query heads of sum_j max(q u, q l). [B][G][P].
std::vector<std::vector<std::vector<double>>> loop_scores(const at::Tensor& q, const at::Tensor& keys, int64_t page,
                                                          DigestKind kind, int64_t groups) {
  const int64_t b = q.size(0), hq = q.size(1), d = q.size(2), hkv = keys.size(1), pages = keys.size(2) / page;
  std::vector<std::vector<std::vector<double>>> out(
      static_cast<size_t>(b), std::vector<std::vector<double>>(static_cast<size_t>(groups), std::vector<double>(static_cast<size_t>(pages))));
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t p = 0; p < pages; ++p) {
      std::vector<std::vector<double>> dig;
      for (int64_t h = 0; h < hkv; ++h) dig.push_back(loop_digest(keys, bi, h, p, page, kind));
      for (int64_t h = 0; h < hq; ++h) {
        const std::vector<double>& g = dig[static_cast<size_t>(h / (hq / hkv))];
        double s = 0;
        for (int64_t j = 0; j < d; ++j) {
          const double qj = q[bi][h][j].item<double>();
          s += std::max(qj * g[static_cast<size_t>(j)], qj * g[static_cast<size_t>(d + j)]);
        }
        out[static_cast<size_t>(bi)][static_cast<size_t>(h / (hq / groups))][static_cast<size_t>(p)] +=
            s / static_cast<double>(hq / groups);
      }
    }
  return out;
}

// Smallest gap between two of `v`, relative to the largest |v|.
double relative_gap(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double gap = 1e300, scale = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    scale = std::max(scale, std::abs(v[i]));
    if (i > 0) gap = std::min(gap, v[i] - v[i - 1]);
  }
  return gap / std::max(scale, 1e-30);
}

std::set<int64_t> as_set(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous();
  return std::set<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// The k best of scores[first, end) (fp64 reference of rank_pages).
std::set<int64_t> loop_top(const std::vector<double>& scores, int64_t first, int64_t end, int64_t k) {
  std::vector<int64_t> order;
  for (int64_t p = first; p < end; ++p) order.push_back(p);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  return std::set<int64_t>(order.begin(), order.begin() + k);
}

TEST(ArkVale, DigestsScoresAndRankingEqualDenseLoops) {
  at::manual_seed(21);
  const int64_t page = 8, pages = 9, d = 16;
  for (DigestKind kind : {DigestKind::kCuboid, DigestKind::kCuboidMean}) {
    for (auto [hq, hkv, groups] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{4, 2, 1}, {4, 2, 2}, {6, 2, 2}, {6, 2, 1}, {3, 3, 3}}) {
      const int64_t b = 2, k = 3, first = 1, end = pages - 2;
      at::Tensor keys = at::randn({b, hkv, pages * page, d});
      at::Tensor q = at::randn({b, hq, d});
      at::Tensor digests = page_digests(keys, page, kind);
      ASSERT_EQ(digests.sizes(), (std::vector<int64_t>{b, hkv, pages, 2 * d}));
      for (int64_t bi = 0; bi < b; ++bi)
        for (int64_t h = 0; h < hkv; ++h)
          for (int64_t p = 0; p < pages; ++p) {
            std::vector<double> want = loop_digest(keys, bi, h, p, page, kind);
            at::Tensor got = digests[bi][h][p].to(at::kDouble).contiguous();
            for (int64_t j = 0; j < 2 * d; ++j)
              ASSERT_NEAR(got[j].item<double>(), want[static_cast<size_t>(j)], 1e-5) << "page " << p << " channel " << j;
          }
      at::Tensor scores = page_scores(q, digests, groups);
      ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{b, groups, pages}));
      auto want = loop_scores(q, keys, page, kind, groups);
      at::Tensor ranked = rank_pages(scores, first, end, k);
      for (int64_t bi = 0; bi < b; ++bi)
        for (int64_t g = 0; g < groups; ++g) {
          const auto& w = want[static_cast<size_t>(bi)][static_cast<size_t>(g)];
          for (int64_t p = 0; p < pages; ++p)
            EXPECT_NEAR(scores[bi][g][p].item<double>(), w[static_cast<size_t>(p)], 1e-4 * (1 + std::abs(w[static_cast<size_t>(p)])));
          ASSERT_GT(relative_gap(std::vector<double>(w.begin() + first, w.begin() + end)), 1e-5) << "near tie; change the seed";
          EXPECT_EQ(as_set(ranked[bi][g]), loop_top(w, first, end, k)) << "hq " << hq << " groups " << groups;
        }
    }
  }
}

TEST(ArkVale, RankingTiesGoToTheLowerPage) {
  at::Tensor scores = at::tensor(std::vector<float>{5, 1, 3, 3, 3, 0, 9}).view({1, 1, 7});
  EXPECT_EQ(as_set(rank_pages(scores, 1, 6, 2)), (std::set<int64_t>{2, 3}));
}

TEST(ArkVale, PageTableRecallsMissingPagesIntoTheLowestScoredSlots) {
  // 12 pages, 7 slots: sinks {0} (prefill kept {0, 1}), chosen {4, 6, 8}, window {10, 11}.
  PageTable table(1, 7, 1, 2, 12, 2, at::tensor(std::vector<int64_t>{4, 6, 8}).view({1, 3}));
  EXPECT_EQ(table.resident(0), (std::vector<int64_t>{0, 1, 4, 6, 8, 10, 11}));
  // Scores of pages 0..10; wanted {2, 6}: 6 hits, 2 replaces the lowest of {1, 4, 8} = page 8.
  at::Tensor scores = at::tensor(std::vector<float>{0, 5, 9, 0, 4, 0, 7, 0, 1, 0, 0}).view({1, 11});
  TableUpdate u = table.update(at::tensor(std::vector<int64_t>{2, 6}).view({1, 2}), scores);
  EXPECT_EQ(u.hits, 1);
  EXPECT_EQ(u.lookups, 2);
  ASSERT_EQ(u.recalls.size(), 1u);
  EXPECT_EQ(u.recalls[0].page, 2);
  EXPECT_EQ(u.recalls[0].slot, 4);  // page 8's slot
  EXPECT_EQ(table.resident(0), (std::vector<int64_t>{0, 1, 2, 4, 6, 10, 11}));
  // Equal scores: the lower page id is evicted first (pages 1 and 4 both score 3; 3 and 5 come in).
  scores = at::tensor(std::vector<float>{0, 3, 8, 9, 3, 9, 7, 0, 0, 0, 0}).view({1, 11});
  u = table.update(at::tensor(std::vector<int64_t>{3, 5}).view({1, 2}), scores);
  EXPECT_EQ(u.hits, 0);
  EXPECT_EQ(table.resident(0), (std::vector<int64_t>{0, 2, 3, 5, 6, 10, 11}));
}

// A straightforward simulation of the policy on fp64 loop scores: resident page sets per row.
struct PolicySimulation {
  int64_t page, sinks, window, k, cache, groups, pages;
  std::vector<std::set<int64_t>> resident;  // per row (b * groups + g)

  void start(const std::vector<double>& prefill_scores) {
    const int64_t prefill_sinks = std::max<int64_t>(2, sinks);
    std::set<int64_t> r;
    for (int64_t p = 0; p < prefill_sinks; ++p) r.insert(p);
    for (int64_t p = pages - window; p < pages; ++p) r.insert(p);
    for (int64_t p : loop_top(prefill_scores, prefill_sinks, pages - window, cache - prefill_sinks - window)) r.insert(p);
    resident.assign(static_cast<size_t>(groups), r);
  }
  // Returns the number of recalled pages.
  int64_t step(const std::vector<std::vector<double>>& scores, int64_t* hits) {
    int64_t recalled = 0;
    for (int64_t g = 0; g < groups; ++g) {
      const auto& s = scores[static_cast<size_t>(g)];
      std::set<int64_t>& r = resident[static_cast<size_t>(g)];
      const std::set<int64_t> top = loop_top(s, sinks, pages - window, k);
      std::vector<int64_t> victims;
      for (int64_t p : r)
        if (p >= sinks && p < pages - window && !top.count(p)) victims.push_back(p);
      std::stable_sort(victims.begin(), victims.end(), [&](int64_t a, int64_t b) { return s[a] < s[b]; });
      size_t next = 0;
      for (int64_t p : top) {
        if (r.count(p)) {
          ++*hits;
          continue;
        }
        r.erase(victims.at(next++));
        r.insert(p);
        ++recalled;
      }
    }
    return recalled;
  }
};

// One layer driven by hand (one-hot values read the attended rows exactly): after a prefill in two
// chunks, every decode step attends exactly sinks + window + the resident ranked pages + the
// generated tokens, the host->device bytes are the recalled pages' K/V, hits are counted.
TEST(ArkVale, DecodeAttendsExactlyTheResidentPagesAndCountsRecalls) {
  for (const std::string ranking : {"layer", "kv_head"}) {
    for (int64_t cache : {0, 9}) {
      const int64_t hq = 6, hkv = 2, d = 64, page = 4, s = 4 * 12 + 3, steps = 6, k = 3, sinks = 1, window = 2;
      const int64_t pages = 13, groups = ranking == "kv_head" ? hkv : 1;
      const std::string label = ranking + " cache " + std::to_string(cache);
      test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, s + steps, d, 31);
      const KVShape shape{1, hq, hkv, d};  // layers, query heads, KV heads, head_dim
      auto method = test::make_method("arkvale", {{"token_budget", k * page - 2}, {"cache_pages", cache}, {"page_size", page},
                                                  {"sink_pages", sinks}, {"window_pages", window}, {"dense_layers", 0},
                                                  {"ranking", ranking}});
      method->reset({shape, nullptr, nullptr}, 1, s + steps);
      method->attend(seq.call(0, 20, AttentionPhase::kPrefill, false));
      method->attend(seq.call(20, s - 20, AttentionPhase::kPrefill, true));
      const at::Tensor prompt_keys = seq.key.narrow(2, 0, (pages - 1) * page);
      PolicySimulation sim{page, sinks, window, k, cache == 0 ? sinks + window + k : cache, groups, pages, {}};
      sim.start(loop_scores(seq.query.select(2, s - 1), prompt_keys, page, DigestKind::kCuboidMean, 1)[0][0]);
      int64_t recalled = 0, hits = 0;
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t pos = s + t;
        at::Tensor out = method->attend(seq.call(pos, 1, AttentionPhase::kDecode));
        auto scores = loop_scores(seq.query.select(2, pos), prompt_keys, page, DigestKind::kCuboidMean, groups)[0];
        for (const auto& row : scores)
          ASSERT_GT(relative_gap(std::vector<double>(row.begin() + sinks, row.begin() + pages - window)), 1e-5)
              << "near tie; change the seed";
        recalled += sim.step(scores, &hits);
        for (int64_t h = 0; h < hq; ++h) {
          const int64_t row = groups == 1 ? 0 : h / (hq / hkv);
          test::PositionSet want;
          for (int64_t p : sim.resident[static_cast<size_t>(row)])
            for (int64_t i = p * page; i < std::min((p + 1) * page, s); ++i) want.insert(i);
          for (int64_t i = s; i <= pos; ++i) want.insert(i);
          EXPECT_EQ(test::attended_positions(out, h), want) << label << " step " << t << " head " << h;
        }
        const KVMemory m = method->memory();
        EXPECT_EQ(m.cache_lookups, (t + 1) * groups * k) << label;
        EXPECT_EQ(m.cache_hits, hits) << label;
        EXPECT_EQ(m.host_to_device_bytes, recalled * kv_formula::arkvale_recall_bytes_per_page(shape, groups, page, 4))
            << label << " step " << t;
        ASSERT_EQ(m.layer_budgets.size(), 1u);
        const int64_t c = sim.cache;
        EXPECT_EQ(m.layer_budgets[0].sink, sinks * page);
        EXPECT_EQ(m.layer_budgets[0].local, page + 3);  // one full window page + the 3-token last page
        EXPECT_EQ(m.layer_budgets[0].selected, (c - sinks - window) * page);
        EXPECT_EQ(m.layer_budgets[0].generated, t + 1);
        EXPECT_DOUBLE_EQ(m.tokens_attended, static_cast<double>((c - 1) * page + 3 + t + 1));
      }
      EXPECT_GT(recalled, 0) << label << ": the inputs should make some step recall a page";
      EXPECT_EQ(method->stats()["recalled_pages"], recalled) << label;
    }
  }
}

TEST(ArkVale, BudgetCoveringThePromptEqualsFullCacheOnEveryTinyModel) {
  // The 64-token reference prompt: 16 pages of 4; "100%" ranks all of them, so the cache (sinks +
  // window + ranked) holds the whole prompt and no page is ever evicted: the same rows as "full".
  test::expect_equivalent_to_full("arkvale", {{"token_budget", "100%"}, {"page_size", 4}, {"cache_pages", 0},
                                              {"dense_layers", 0}});
  // A cache of exactly the prompt's pages, per KV head ranking, the long prompt in chunks.
  test::EquivalenceOptions chunked;
  chunked.prompt_tokens = 203;
  chunked.prefill_chunk = 64;
  chunked.max_new_tokens = 8;
  test::expect_equivalent_to_full("arkvale", {{"token_budget", 16}, {"page_size", 8}, {"cache_pages", 26},
                                              {"dense_layers", 0}, {"ranking", "kv_head"}},
                                  chunked);
}

// The negative control of the equivalence above: a cache smaller than the prompt changes the
// logits by far more than the equivalence bound on the same prompt (the test above can fail).
TEST(ArkVale, SmallCacheIsNotEqual) {
  const CausalLM& model = test::tiny_model("llama3");
  const auto prompt = test::equivalence_prompt(test::tiny_reference("llama3"), 203, model.config().vocab_size);
  GenerateOptions options;
  options.max_new_tokens = 4;
  options.stop_on_eos = false;
  options.keep_logits = true;
  auto full = test::make_method("full", nlohmann::json::object());
  auto small = test::make_method("arkvale", {{"token_budget", 8}, {"page_size", 8}, {"cache_pages", 0}, {"dense_layers", 0}});
  GenerateResult want = generate(model, *full, {prompt}, options), got = generate(model, *small, {prompt}, options);
  double worst_ratio = 0;
  for (size_t i = 0; i < want.step_logits.size(); ++i) {
    const double bound = 16 * static_cast<double>(prompt.size() + i) * 1.1920928955078125e-7 *
                         std::max(1.0, want.step_logits[i].abs().max().item<double>());
    worst_ratio = std::max(worst_ratio, (got.step_logits[i] - want.step_logits[i]).abs().max().item<double>() / bound);
  }
  std::printf("[arkvale small cache] max |logit diff| = %.3g of the equivalence bound\n", worst_ratio);
  EXPECT_GT(worst_ratio, 1.0);
}

std::vector<int64_t> random_prompt(int64_t n, int64_t vocab, uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor t = at::randint(3, vocab, {n}, at::kLong);
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
}

TEST(ArkVale, AccountingMatchesTheFormulasAndTheTransferCounters) {
  struct Case {
    std::string model;
    at::ScalarType dtype;
    nlohmann::json budget;  // 16 tokens, or a fraction resolving to floor(0.08 * 203) = 16: k = 2 pages
    int64_t cache_pages;    // 0: sinks + window + k = 5
    std::string ranking;
  };
  std::vector<Case> cases;
  for (const auto& name : test::tiny_model_names()) cases.push_back({name, at::kFloat, 16, 0, "layer"});
  cases.push_back({"llama3", at::kFloat, 16, 9, "kv_head"});
  cases.push_back({"qwen3", at::kBFloat16, 0.08, 7, "kv_head"});
  for (const Case& cs : cases) {
    auto model = CausalLM::load(test::tiny_models_dir() + "/" + cs.model, {cs.dtype, at::kCPU});
    const ModelConfig& c = model->config();
    const KVShape shape = c.kv_shape();
    const int64_t s = 203, new_tokens = 10, page = 8, dense = 1, k = 2, pages = 26;
    const int64_t cache = cs.cache_pages == 0 ? 1 + 2 + k : cs.cache_pages;
    const int64_t e = cs.dtype == at::kFloat ? 4 : 2, hkv = c.num_kv_heads;
    const int64_t groups = cs.ranking == "kv_head" ? hkv : 1, sparse = c.num_layers - dense;
    const std::string label = cs.model + " cache " + std::to_string(cs.cache_pages) + " " + cs.ranking;
    auto method = test::make_method("arkvale", {{"token_budget", cs.budget}, {"cache_pages", cs.cache_pages}, {"page_size", page},
                                                {"dense_layers", dense}, {"ranking", cs.ranking}});
    GenerateOptions options;
    options.max_new_tokens = new_tokens;
    options.stop_on_eos = false;
    GenerateResult got = generate(*model, *method, {random_prompt(s, c.vocab_size, 23)}, options);
    const nlohmann::json stats = method->stats();
    ASSERT_EQ(stats["paged_layers"], sparse) << label;
    ASSERT_EQ(stats["topk_pages"], k) << label;
    ASSERT_EQ(stats["prompt_pages"], pages) << label;
    // Device: dense layers hold prompt + new tokens (generate() reserves them); paged layers their
    // cache rows plus room for the generated tokens, and the digests.
    const int64_t slots = s + new_tokens;
    KVShape one_layer = shape;
    one_layer.num_layers = 1;
    const int64_t kv = dense * kv_formula::kv_rows_bytes(one_layer, 1, slots, e) +
                       sparse * kv_formula::kv_rows_bytes(one_layer, 1, kv_formula::arkvale_cache_rows(s, page, cache) + new_tokens, e);
    EXPECT_EQ(got.kv.kv_device_bytes, kv) << label;
    EXPECT_EQ(got.kv.metadata_device_bytes, sparse * kv_formula::arkvale_digest_bytes_per_layer(shape, 1, pages, e)) << label;
    EXPECT_EQ(got.kv.host_bytes, sparse * kv_formula::arkvale_host_bytes_per_layer(shape, 1, pages, page, groups, cache, e))
        << label;
    EXPECT_EQ(got.kv_after_prefill.host_to_device_bytes, 0) << label;
    // Host->device: the recalled pages' K/V, step by step; at most k pages per group and layer.
    const int64_t per_page = kv_formula::arkvale_recall_bytes_per_page(shape, groups, page, e);
    EXPECT_EQ(got.kv.host_to_device_bytes, stats["recalled_pages"].get<int64_t>() * per_page) << label;
    const int64_t steps = new_tokens - 1;  // the last token is not fed back
    ASSERT_EQ(static_cast<int64_t>(got.kv_steps.size()), steps) << label;
    int64_t previous = 0;
    for (const KVMemory& m : got.kv_steps) {
      const int64_t delta = m.host_to_device_bytes - previous;
      EXPECT_EQ(delta % per_page, 0) << label;
      EXPECT_LE(delta, sparse * groups * k * per_page) << label;
      previous = m.host_to_device_bytes;
    }
    EXPECT_EQ(got.kv.cache_lookups, steps * sparse * groups * k) << label;
    EXPECT_EQ(got.kv.cache_lookups - got.kv.cache_hits, stats["recalled_pages"].get<int64_t>()) << label;
    // Per layer: dense layers attend the prompt exactly; paged layers sink + window + middle slots.
    ASSERT_EQ(static_cast<int64_t>(got.kv.layer_budgets.size()), c.num_layers);
    const int64_t last_rows = s - (pages - 1) * page;
    for (int64_t l = 0; l < c.num_layers; ++l) {
      const LayerBudget& lb = got.kv.layer_budgets[static_cast<size_t>(l)];
      EXPECT_EQ(lb.generated, steps);
      if (l < dense) {
        EXPECT_EQ(lb.local, s);
      } else {
        EXPECT_EQ(lb.sink, page);
        EXPECT_EQ(lb.local, page + last_rows);
        EXPECT_EQ(lb.selected, (cache - 3) * page);
      }
    }
    const double paged_rows = static_cast<double>(kv_formula::arkvale_cache_rows(s, page, cache));
    EXPECT_DOUBLE_EQ(got.kv.tokens_attended,
                     (dense * static_cast<double>(s) + sparse * paged_rows) / static_cast<double>(c.num_layers) + steps)
        << label;
    EXPECT_DOUBLE_EQ(got.kv_after_prefill.tokens_attended, static_cast<double>(s));
  }
}

TEST(ArkVale, FormulasGiveTheSectionOneNineFigures) {
  KVShape llama;
  llama.num_layers = 32;
  llama.num_kv_heads = 8;
  llama.head_dim = 128;
  // Digests: 128 B per token and layer at page 32, bf16 (methods.md 1.9); one page's recall 128 KiB.
  EXPECT_EQ(kv_formula::arkvale_digest_bytes_per_layer(llama, 1, 4097, 2) / 4096 / 32, 128);
  EXPECT_EQ(kv_formula::arkvale_recall_bytes_per_page(llama, 1, 32, 2), 131072);
  EXPECT_EQ(kv_formula::arkvale_cache_rows(100, 32, 5), 4 * 32 + 4);
}

TEST(ArkVale, CacheTooSmallForTheBudgetIsAConfigError) {
  auto method = test::make_method("arkvale", {{"token_budget", 64}, {"cache_pages", 3}, {"page_size", 8}, {"dense_layers", 0}});
  test::LayerSequence seq = test::random_onehot_sequence(2, 1, 40, 16, 3);
  const KVShape shape{1, 2, 1, 16};  // layers, query heads, KV heads, head_dim
  method->reset({shape, nullptr, nullptr}, 1, 41);
  try {
    method->attend(seq.call(0, 40, AttentionPhase::kPrefill));
    FAIL() << "expected a config error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_NE(std::string(e.what()).find("method.params.cache_pages"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvbench
