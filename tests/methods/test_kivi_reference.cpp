// SPDX-License-Identifier: Apache-2.0
// Acceptance 3 for kivi: the reference's own quantization and cache handling (jy-yuan/KIVI,
// ported to pure PyTorch in scripts/reference/kivi_reference.py, run in the venv) and kvbench agree
// on the same random tensors, exchanged through JSON files: kvbench writes q/k/v, the reference
// prefills the prompt and decodes the rest; checked are (a) the final quantized cache: codes, scales
// and zero points bit for bit against kvbench's quantizer on the rows the reference quantized, and
// the numbers of quantized rows after the prompt and after every step against the kivi method's; (b) the kivi method's attention output of
// the prompt and of every decode step against the reference's (tolerance below).
#include "harness/kv/kivi_quant.h"
#include "tests/methods/attention_calls.h"
#include "tests/methods/json_tensor.h"
#include "tests/methods/method_equivalence.h"
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

namespace kvbench {
namespace {

nlohmann::json nested(const at::Tensor& t) {
  if (t.dim() == 0) return t.item<double>();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < t.size(0); ++i) out.push_back(nested(t[i]));
  return out;
}

struct Case {
  int64_t key_bits, value_bits;
};

TEST(KiviReference, QuantizedCacheAndAttentionMatchTheReferencePort) {
  const int64_t hq = 4, hkv = 2, d = 64, group = 32, residual = 64, prompt = 150, steps = 50;
  const int64_t s = prompt + steps;  // decode crosses a key flush (22 + 42 = 64 residual keys)
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const std::filesystem::path dir = std::filesystem::path(test::env("KVBENCH_TEST_TMP", "/tmp")) / "kivi_reference";
  ASSERT_TRUE(test::recreate_dir(dir));
  for (const Case c : {Case{2, 2}, Case{4, 4}, Case{4, 2}}) {
    SCOPED_TRACE("key_bits " + std::to_string(c.key_bits) + ", value_bits " + std::to_string(c.value_bits));
    at::manual_seed(20 + c.key_bits * 3 + c.value_bits);
    test::LayerSequence seq{at::randn({1, hq, s, d}), at::Tensor(), at::randn({1, hkv, s, d}),
                            at::randn({1, hkv, s, d}), at::arange(s, at::kLong).unsqueeze(0), scale};
    seq.key_pre_rope = seq.key;
    const std::filesystem::path in = dir / "in.json", out = dir / "out.json";
    {
      std::ofstream f(in);
      f << nlohmann::json{{"key_bits", c.key_bits},
                          {"value_bits", c.value_bits},
                          {"group_size", group},
                          {"residual_length", residual},
                          {"prompt_len", prompt},
                          {"q", nested(seq.query)},
                          {"k", nested(seq.key)},
                          {"v", nested(seq.value)}}
               .dump();
    }
    const test::CommandResult r = test::run_command(test::reference_script("kivi_reference.py", {in.string(), out.string()}));
    ASSERT_EQ(r.code, 0) << r.out;
    const nlohmann::json ref = test::read_json_file(out);

    // kvbench's method on the same tensors, same schedule.
    auto method = test::make_method("kivi", {{"key_bits", c.key_bits},
                                             {"value_bits", c.value_bits},
                                             {"group_size", group},
                                             {"residual_length", residual}});
    method->reset({KVShape{1, hq, hkv, d}, nullptr, nullptr}, 1, s);
    // After the prompt and every step: the quantized key and value rows, exactly the reference's
    // (when each flush happens, checked before any tolerance).
    auto quantized_rows = [&] {
      const nlohmann::json st = method->stats();
      return std::vector<int64_t>{static_cast<int64_t>(st["quantized_key_rows"].get<double>()),
                                  static_cast<int64_t>(st["quantized_value_rows"].get<double>())};
    };
    std::vector<at::Tensor> outputs{method->attend(seq.call(0, prompt, AttentionPhase::kPrefill, true))};
    std::vector<std::vector<int64_t>> rows{quantized_rows()};
    for (int64_t p = prompt; p < s; ++p) {
      outputs.push_back(method->attend(seq.call(p, 1, AttentionPhase::kDecode)));
      rows.push_back(quantized_rows());
    }
    EXPECT_EQ(rows, ref["quantized_rows"].get<std::vector<std::vector<int64_t>>>());

    // (a) The final cache. Key codes: the reference packs along tokens as [1, Hkv, Tq * bits / 32, d];
    // kvbench's [1, Hkv, groups, d * words] is the same words per (group, channel).
    const at::Tensor ref_key_codes = test::tensor_from_json(ref["key_codes"], at::kInt);
    const int64_t per_word_k = 32 / c.key_bits, words = group / per_word_k;
    const int64_t tq = ref_key_codes.size(2) * per_word_k;
    const nlohmann::json stats = method->stats();
    EXPECT_EQ(stats["quantized_key_rows"].get<double>(), static_cast<double>(tq));
    EXPECT_EQ(ref["key_full_rows"].get<int64_t>(), s - tq);
    KiviQuantized keys = kivi_quantize_keys(seq.key.narrow(2, 0, tq), group, c.key_bits);
    at::Tensor ours_key_codes =
        keys.codes.view({1, hkv, tq / group, d, words}).permute({0, 1, 2, 4, 3}).reshape({1, hkv, tq / per_word_k, d});
    EXPECT_TRUE(at::equal(ours_key_codes, ref_key_codes));
    EXPECT_TRUE(at::equal(keys.scale, test::tensor_from_json(ref["key_scale"], at::kFloat)));
    EXPECT_TRUE(at::equal(keys.zero, test::tensor_from_json(ref["key_zero"], at::kFloat)));
    const at::Tensor ref_value_codes = test::tensor_from_json(ref["value_codes"], at::kInt);
    const int64_t nv = ref_value_codes.size(2);
    EXPECT_EQ(stats["quantized_value_rows"].get<double>(), static_cast<double>(nv));
    EXPECT_EQ(ref["value_full_rows"].get<int64_t>(), s - nv);
    KiviQuantized values = kivi_quantize_values(seq.value.narrow(2, 0, nv), group, c.value_bits);
    EXPECT_TRUE(at::equal(values.codes, ref_value_codes));
    EXPECT_TRUE(at::equal(values.scale, test::tensor_from_json(ref["value_scale"], at::kFloat)));
    EXPECT_TRUE(at::equal(values.zero, test::tensor_from_json(ref["value_zero"], at::kFloat)));

    // (b) Attention outputs. Both sides attend the same dequantized rows (bit-identical, (a)) in fp32
    // and differ only in the order of their sums (the reference: matmul, softmax, two matmuls;
    // kvbench: scaled_dot_product_attention). A logit q . k * scale carries at most d * eps *
    // sum|q_i k_i| * scale <= d * eps * A per side, A = max|q|_2 * max|k^|_2 * scale (Cauchy-Schwarz);
    // a softmax weight moves by at most 2 * (its logit error) relatively and the weighted sum of n
    // rows adds n * eps; so |output difference| <= max|v^| * (2 * 2 * d * eps * A + 2 * n * eps).
    constexpr double kEps = 1.1920928955078125e-7;
    // Every key row attended is either its original or its group's dequantized value (the final
    // quantized rows; earlier steps quantized a prefix of them): bound norms over both.
    const at::Tensor k_hat = kivi_dequantize_keys(keys, group, c.key_bits);
    const at::Tensor v_hat = kivi_dequantize_values(values, group, c.value_bits);
    const double a_bound = seq.query.norm(2, -1).max().item<double>() *
                           std::max(seq.key.norm(2, -1).max().item<double>(),
                                    tq > 0 ? k_hat.norm(2, -1).max().item<double>() : 0.0) *
                           scale;
    const double max_v = std::max(seq.value.abs().max().item<double>(),
                                  nv > 0 ? v_hat.abs().max().item<double>() : 0.0);
    auto tolerance = [&](int64_t n) { return max_v * (4.0 * d * kEps * a_bound + 2.0 * n * kEps); };
    const at::Tensor ref_prefill = test::tensor_from_json(ref["prefill_output"], at::kDouble);
    EXPECT_LE((outputs[0].to(at::kDouble) - ref_prefill).abs().max().item<double>(), tolerance(prompt));
    ASSERT_EQ(ref["decode_outputs"].size(), static_cast<size_t>(steps));
    double worst = 0;
    for (int64_t step = 0; step < steps; ++step) {
      const at::Tensor expected = test::tensor_from_json(ref["decode_outputs"][static_cast<size_t>(step)], at::kDouble);
      const double diff = (outputs[static_cast<size_t>(step + 1)].to(at::kDouble) - expected).abs().max().item<double>();
      worst = std::max(worst, diff / tolerance(prompt + step + 1));
      EXPECT_LE(diff, tolerance(prompt + step + 1)) << "decode step " << step;
    }
    std::printf("[kivi-reference] K%lld V%lld: worst decode difference %.3g of the bound\n",
                static_cast<long long>(c.key_bits), static_cast<long long>(c.value_bits), worst);
  }
}

}  // namespace
}  // namespace kvbench
