// SPDX-License-Identifier: Apache-2.0
// Acceptance 2 of issue 13 for yakv: the study's own selection code (yandex-research/
// context-intensive-kv-offloading 721b2d1, shadowkv_models/kv_cache.py ShadowKVCache with rank -1,
// chunk 1, and quantization/higgs.py), ported to CPU torch in scripts/reference/yakv_reference.py
// (provenance in its header), and kvbench's yakv choose the same positions on the same random
// tensors: the study's setting (2-bit HIGGS landmarks, local 64, no outliers, GQA 3, an odd
// prompt), one KV head whose 96 channels pad the Hadamard group with chunk-1 outliers and GQA 4,
// residual landmark quantization (meta-landmarks of 4, the last group padded; methods.md 1.7), and
// exact landmarks. Also compared: the landmark ids, HIGGS codes (exactly), scales, and the
// dequantized landmarks.
// Documented deviation: the reference's dequantize rounds to float16 before and after its inverse
// Hadamard (fast_hadamard_transform is a half-precision CUDA kernel); kvbench's HIGGS contract
// (harness/kv/higgs.h) evaluates in float64 and rounds to float32. The landmark check below allows
// exactly those roundings, and the selection must not depend on them: the script redraws keys until
// every landmark sub-vector's best two grid scores are clearly apart (same codes on both sides) and
// each decode query until its top-k boundary gap exceeds the float16 effect plus worst-case
// float32 terms (argued in the script's header); the test re-checks those gaps. (Tie rules, never
// exercised here: kvbench ranks equal scores by ascending position and equal grid scores by the
// lowest grid index; torch.topk leaves tied order unspecified, torch.argmax takes the first.)
// yakv_gpu is not covered: its rule (mean of the group's queries, raw dot products, bf16 scales)
// is the mini-sglang GPU path's (methods.md 1.6), not kv_cache.py's.
#include "harness/kv/higgs.h"
#include "harness/kv/method.h"
#include "harness/kv/rope.h"
#include "harness/kv/kv_shape.h"
#include "harness/params.h"
#include "methods/yakv_stores.h"
#include "tests/methods/attention_calls.h"
#include "tests/methods/json_tensor.h"
#include "tests/support/cli_test_support.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <vector>

namespace kvbench {
namespace {

const int kSingleThread = (at::set_num_threads(1), 0);

// [1, Hkv, n, d] -> token rows [n, Hkv*d] (kv_cache.py's k_landmark.transpose(1, 2).reshape).
at::Tensor rows_of(const at::Tensor& t) { return t[0].transpose(0, 1).reshape({t.size(2), -1}); }

TEST(YakvReference, SameLandmarksAndPositionsAsThePortedStudyCode) {
  const nlohmann::json ref = test::seeded_reference("yakv_reference.py");
  const nlohmann::json& cases = ref["cases"];
  ASSERT_EQ(cases.size(), 4u);
  constexpr double kEps = 1.1920928955078125e-7;  // float32 machine epsilon, 2^-23
  for (const nlohmann::json& cs : cases) {
    const std::string name = cs["name"];
    const int64_t hq = cs["num_heads"], hkv = cs["num_kv_heads"], d = cs["head_dim"], s = cs["prompt_tokens"];
    const int64_t steps = cs["steps"], local = cs["local_budget"], outliers = cs["outlier_budget"];
    const int64_t group = cs["landmark_group"], n = s - local - outliers, channels = hkv * d;
    const bool quantized = cs["quantized"];
    const int64_t residual_dim = cs["residual_grid_dim"], meta_chunk = cs["meta_chunk_size"];
    const at::Tensor key_pre = test::tensor_from_json(cs["key_pre_rope"], {1, hkv, s, d});
    const at::Tensor key = test::tensor_from_json(cs["key"], {1, hkv, s, d});
    const at::Tensor decode_query = test::tensor_from_json(cs["decode_query"], {1, hq, steps, d});
    ASSERT_EQ(cs["chunks"].get<int64_t>(), s - local) << name;
    ASSERT_EQ(cs["prefill_local"].get<int64_t>(), local) << name;
    // The landmarks are the tokens outliers .. S-local-1 (chunk 1: the outliers are the first tokens).
    const std::vector<int64_t> ids = cs["landmark_ids"][0].get<std::vector<int64_t>>();
    ASSERT_EQ(static_cast<int64_t>(ids.size()), n) << name;
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(ids[static_cast<size_t>(i)], outliers + i) << name;

    // Landmarks [n, Hkv*d] as the reference registers them.
    const at::Tensor want_landmarks = rows_of(test::tensor_from_json(cs["landmarks"], {1, hkv, n, d}));
    const at::Tensor rows = rows_of(key.narrow(2, outliers, n));
    if (residual_dim > 0) {
      // kvbench's landmark store with the same quantizers. Each part (meta, residual) is
      // dequantized through the reference's float16 roundings: <= 2^-10 ||part_group|| per
      // coordinate, as below. The residual's scale is the norm of row - meta_hat, whose float16
      // shift (<= 2^-10 ||meta_group|| per coordinate, <= sqrt(g) 2^-10 ||meta_group|| in norm)
      // rescales the dequantized residual by as much. The script writes ||meta_group|| +
      // ||residual_group|| per row ("part_norms"); (1 + sqrt(g)) 2^-10 of it plus float32 terms
      // 3 g eps of it bounds the difference.
      HiggsQuantizer main_q(HiggsConfig{4, 256, group}), residual_q(HiggsConfig{residual_dim, 256, group});
      YakvLandmarks store;
      store.build(rows, &main_q, &residual_q, meta_chunk, /*bf16_scales=*/false, at::kFloat);
      const at::Tensor part_norms = test::tensor_from_json(cs["part_norms"], at::kFloat);
      const int64_t padded = main_q.padded_channels(channels);
      const at::Tensor norms = part_norms.repeat_interleave(group, 1).narrow(1, 0, channels);
      ASSERT_EQ(part_norms.size(1), padded / group) << name;
      EXPECT_LT(((store.dequantize(at::kFloat) - want_landmarks).abs() / norms).max().item<double>(),
                (1 + std::sqrt(static_cast<double>(group))) * std::ldexp(1.0, -10) + 3 * group * kEps)
          << name;
    } else if (quantized) {
      HiggsQuantizer quantizer(HiggsConfig{4, 256, group});
      const HiggsCodes codes = quantizer.quantize(rows);
      // Codes: identical (the script keeps every sub-vector's grid scores >= 8e-3 apart, far above
      // the <= 4e-3 the two float32 evaluations can differ by).
      EXPECT_TRUE(at::equal(codes.codes.to(at::kLong), test::tensor_from_json(cs["codes"], at::kLong))) << name;
      // Scales: norms of g float32 values, relative error <= g * eps on either side.
      const at::Tensor want_scales = test::tensor_from_json(cs["scales"], at::kFloat);
      EXPECT_LT(((codes.scales - want_scales) / want_scales).abs().max().item<double>(), 2 * group * kEps) << name;
      // Dequantized: the reference rounds z = G[code] * scale to float16 (relative 2^-11), takes
      // H z / g in float32, and rounds that to float16 again. With x = H z / g, ||z|| / sqrt(g) =
      // ||x_group||, so a coordinate moves by <= 2^-11 (sum|z_j| / g + |x_i|) <= 2^-10 ||x_group||,
      // plus float32 terms <= 2 g eps ||x_group||.
      const int64_t padded = quantizer.padded_channels(channels);
      const at::Tensor got = quantizer.dequantize(codes);
      const at::Tensor norms = at::constant_pad_nd(want_landmarks, {0, padded - channels})
                                   .view({n, padded / group, group})
                                   .norm(2, -1)
                                   .repeat_interleave(group, 1)
                                   .narrow(1, 0, channels);
      EXPECT_LT(((got - want_landmarks).abs() / norms).max().item<double>(), std::ldexp(1.0, -10) + 2 * group * kEps)
          << name;
    } else {
      EXPECT_TRUE(at::equal(rows, want_landmarks)) << name;
    }

    // The method on the same tensors; generated tokens' keys and values, and the prompt's queries,
    // are zero (none of them selects anything); values and keys of the stores kept exact.
    const int64_t total = s + steps;
    at::Tensor query = at::zeros({1, hq, total, d}), k_pre = at::zeros({1, hkv, total, d}), k = at::zeros({1, hkv, total, d});
    query.narrow(2, s, steps).copy_(decode_query);
    k_pre.narrow(2, 0, s).copy_(key_pre);
    k.narrow(2, 0, s).copy_(key);
    const at::Tensor values = at::randn({1, hkv, total, d});
    const test::LayerSequence seq{query, k_pre, k, values, at::arange(total, at::kLong).unsqueeze(0),
                                  1.0 / std::sqrt(static_cast<double>(d))};
    const KVShape shape{1, hq, hkv, d};  // layers, query heads, KV heads, head_dim
    Rope rope(RopeConfig{}, d, at::kCPU);
    const auto* entry = KVMethodRegistry::instance().find("yakv");
    nlohmann::json params = default_params(entry->params);
    params.update({{"sparse_budget", cs["sparse_fraction"].get<double>()}, {"local_budget", local},
                   {"outlier_budget", outliers}, {"landmark_quantization", quantized ? "higgs" : "none"},
                   {"landmark_group", group}, {"landmark_grid_dim", 4}, {"landmark_grid_size", 256},
                   {"key_quantization", "none"}, {"value_quantization", "none"},
                   {"residual_quantization", residual_dim > 0}, {"meta_chunk_size", meta_chunk},
                   {"residual_grid_dim", residual_dim > 0 ? residual_dim : 4}, {"residual_grid_size", 256}});
    auto method = entry->make(params);
    method->reset({shape, nullptr, &rope}, 1, total);
    method->attend(seq.call(0, s, AttentionPhase::kPrefill));
    auto* probe = dynamic_cast<YakvSelectionProbe*>(method.get());
    ASSERT_NE(probe, nullptr);
    const int64_t k_sel = cs["select_sets"];
    EXPECT_EQ(k_sel, cs["sparse_budget"].get<int64_t>()) << name;
    for (int64_t t = 0; t < steps; ++t) {
      const nlohmann::json& step = cs["decode"][static_cast<size_t>(t)];
      EXPECT_GT(step["relative_gap"].get<double>(), step["required_gap"].get<double>()) << name << " step " << t;
      method->attend(seq.call(s + t, 1, AttentionPhase::kDecode));
      const at::Tensor chosen = probe->last_selection(0);  // [Hkv, k] prompt positions
      ASSERT_EQ(chosen.size(1), k_sel) << name << ": kvbench's budget of int(fraction * S) tokens";
      for (int64_t h = 0; h < hkv; ++h)
        EXPECT_EQ(test::index_set(chosen[h]), test::index_set(step["selected"][static_cast<size_t>(h)])) << name << " step " << t << " kv head " << h;
    }
  }
}

}  // namespace
}  // namespace kvbench
