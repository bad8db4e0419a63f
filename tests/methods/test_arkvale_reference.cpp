// SPDX-License-Identifier: Apache-2.0
// Acceptance 2 for arkvale: the reference's page digests, page scores and page selection, ported to
// CPU torch in scripts/reference/arkvale_reference.py (provenance in its header: pku-liang/ArkVale
// infer_state.py, estimate.cu, select.cu, and the study's fork), and kvbench choose the same pages on
// the same random tensors. The script writes the tensors and, per decode step, the ranked, recalled
// and resident pages per ranking row, for a per-layer ranking with a cache larger than the ranked
// pages and a per-KV-head ranking (GQA group 3) with the study's cache. kvbench's arkvale method
// runs on the same queries and keys with one-hot values, so the rows each query head attends are
// read exactly from its output and must be the Python side's resident pages plus the generated
// tokens; recalled pages must match its host->device bytes. The script picks inputs whose candidate
// scores are pairwise >= 1e-4 apart (relative), so the two implementations' float rounding cannot
// order two pages differently; both then pick identical sets.
#include "harness/kv/memory_formulas.h"
#include "methods/arkvale_pages.h"
#include "tests/methods/attention_calls.h"
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

TEST(ArkValeReference, SameDigestsScoresAndPagesAsThePortedReference) {
  const nlohmann::json ref = test::seeded_reference("arkvale_reference.py");
  const nlohmann::json& cases = ref["cases"];
  ASSERT_EQ(cases.size(), 2u);
  for (const nlohmann::json& cs : cases) {
    const std::string name = cs["name"];
    const int64_t hq = cs["num_heads"], hkv = cs["num_kv_heads"], d = cs["head_dim"], page = cs["page_size"];
    const int64_t s = cs["prompt_tokens"], steps = cs["steps"], sinks = cs["n_sink_pages"], window = cs["n_win_pages"];
    const int64_t groups = cs["n_groups"], cache = cs["page_budgets"], k = cs["topk_pages"];
    const int64_t pages = (s + page - 1) / page;
    ASSERT_GT(cs["min_relative_gap"].get<double>(), 1e-4) << name;
    at::Tensor q = test::tensor_from_json(cs["queries"], {1, hq, s + steps, d});
    at::Tensor keys = test::tensor_from_json(cs["keys"], {1, hkv, s + steps, d});

    // Digests (the same fp32 ops in the same order) and scores (fp32 sums in another order: each
    // score is a sum of 64 terms of magnitude <= ~10, so they agree to ~64 * 10 * eps_fp32 ~ 1e-4).
    at::Tensor digests = arkvale::page_digests(keys.narrow(2, 0, (pages - 1) * page), page, arkvale::DigestKind::kCuboidMean);
    EXPECT_LT((digests.narrow(3, 0, d) - test::tensor_from_json(cs["digest_upper"], {1, hkv, pages - 1, d})).abs().max().item<double>(), 1e-5)
        << name;
    EXPECT_LT((digests.narrow(3, d, d) - test::tensor_from_json(cs["digest_lower"], {1, hkv, pages - 1, d})).abs().max().item<double>(), 1e-5)
        << name;

    // The method on the same tensors, one-hot values: attended rows = resident pages + generated.
    test::LayerSequence seq{q, keys, keys, test::onehot_values(hkv, s + steps, d), at::arange(s + steps, at::kLong).unsqueeze(0),
                            1.0 / std::sqrt(static_cast<double>(d))};
    const KVShape shape{1, hq, hkv, d};  // layers, query heads, KV heads, head_dim
    // The study's budget form: k ranked pages = token_budget / page; cache = the reference's page_budgets.
    auto method = test::make_method("arkvale", {{"token_budget", k * page}, {"cache_pages", cache}, {"page_size", page},
                                                {"sink_pages", sinks}, {"window_pages", window}, {"dense_layers", 0},
                                                {"ranking", groups == 1 ? "layer" : "kv_head"}});
    method->reset({shape, nullptr, nullptr}, 1, s + steps);
    method->attend(seq.call(0, s, AttentionPhase::kPrefill));
    int64_t recalled = 0;
    for (int64_t t = 0; t < steps; ++t) {
      const nlohmann::json& step = cs["decode"][static_cast<size_t>(t)];
      const int64_t pos = s + t;
      at::Tensor scores = arkvale::page_scores(q.select(2, pos), digests, groups);
      at::Tensor ranked = arkvale::rank_pages(scores, sinks, pages - window, k);
      at::Tensor out = method->attend(seq.call(pos, 1, AttentionPhase::kDecode));
      for (int64_t g = 0; g < groups; ++g) {
        const at::Tensor want_scores = test::tensor_from_json(step["scores"][static_cast<size_t>(g)], {pages - 1});
        EXPECT_LT((scores[0][g] - want_scores).abs().max().item<double>(), 1e-4 * (1 + want_scores.abs().max().item<double>()))
            << name << " step " << t;
        EXPECT_EQ(test::index_set(ranked[0][g].narrow(0, 0, k)), test::index_set(step["wanted"][static_cast<size_t>(g)]))
            << name << " step " << t << " row " << g;
        recalled += static_cast<int64_t>(step["recalled"][static_cast<size_t>(g)].size());
      }
      for (int64_t h = 0; h < hq; ++h) {
        const int64_t row = groups == 1 ? 0 : h / (hq / hkv);
        test::PositionSet want;
        for (int64_t p : step["resident"][static_cast<size_t>(row)].get<std::vector<int64_t>>())
          for (int64_t i = p * page; i < std::min((p + 1) * page, s); ++i) want.insert(i);
        for (int64_t i = s; i <= pos; ++i) want.insert(i);
        EXPECT_EQ(test::attended_positions(out, h), want) << name << " step " << t << " head " << h;
      }
      EXPECT_EQ(method->memory().host_to_device_bytes,
                recalled * kv_formula::arkvale_recall_bytes_per_page(shape, groups, page, 4))
          << name << " step " << t;
    }
    EXPECT_GT(recalled, 0) << name << ": the reference recalled no page; the check would be weak";
  }
}

}  // namespace
}  // namespace kvbench
