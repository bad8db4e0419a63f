// SPDX-License-Identifier: Apache-2.0
// kivi (acceptance 1-2 of issue 14): quantize/dequantize equal a plain scalar loop bit for bit; the
// error on Gaussian data is the uniform-quantization error of each group's step; the method's
// flush schedule, attention and memory record follow the rule of methods/kivi.cpp and the formula
// of harness/kv/memory_formulas.h; the CUDA kernel's code lookups (kivi_attention_args.h) read the
// packed words as the LibTorch unpacking does; at 16 bits or with a residual covering the sequence
// it reproduces the full cache on every tiny model; bad parameters are config errors.
#include "harness/error.h"
#include "harness/kernels/kivi_attention_args.h"
#include "harness/kv/kivi_attention.h"
#include "harness/kv/kivi_quant.h"
#include "harness/kv/memory_formulas.h"
#include "tests/methods/attention_calls.h"
#include "tests/methods/method_equivalence.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace kvbench {
namespace {

// The plain reference: one group of `n` floats read with stride `stride` from x, quantized as
// methods.md section 6 / quant/new_pack.py state it, one float operation per step (the build is
// ISO C++ without -ffast-math, so no contraction into FMA and no reassociation). Returns codes,
// and writes the group's scale, zero and dequantized values.
std::vector<uint32_t> plain_quantize_group(const float* x, int64_t n, int64_t stride, int64_t bits, float* scale,
                                           float* zero, float* dequantized) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i * stride]);
    hi = std::max(hi, x[i * stride]);
  }
  const float max_code = static_cast<float>((1 << bits) - 1);
  const float s = (hi - lo) / max_code;
  std::vector<uint32_t> codes(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float c = 0;
    if (s > 0) {
      const float ratio = (x[i * stride] - lo) / s;
      c = std::nearbyint(std::min(std::max(ratio, 0.0f), max_code));  // default rounding: half to even
    }
    codes[static_cast<size_t>(i)] = static_cast<uint32_t>(c);
    const float product = static_cast<float>(codes[static_cast<size_t>(i)]) * s;
    dequantized[i * stride] = product + lo;
  }
  *scale = s;
  *zero = lo;
  return codes;
}

uint32_t bits_of(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

// Gaussian rows with some constant groups (scale 0) and repeated values (exact .5 ratios).
at::Tensor test_tensor(int64_t b, int64_t h, int64_t n, int64_t d, uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor x = at::randn({b, h, n, d});
  x.select(1, 0).narrow(1, 0, 32).select(2, 3).fill_(0.75f);  // keys: channel 3's first token group constant
  x.select(1, 0).select(1, 1).narrow(1, 0, 32).fill_(-1.25f);  // values: token 1's first channel group constant
  x.select(1, h - 1).select(1, 2).narrow(1, 0, 4).copy_(at::tensor({0.0f, 3.0f, 1.5f, 0.5f}));
  return x;
}

TEST(Kivi, KeyQuantizationEqualsPlainLoopBitForBit) {
  for (int64_t bits : {2, 4, 8}) {
    const int64_t b = 2, h = 3, n = 96, d = 40, group = 32, per_word = 32 / bits;
    at::Tensor x = test_tensor(b, h, n, d, 7 + bits).contiguous();
    KiviQuantized q = kivi_quantize_keys(x, group, bits);
    ASSERT_EQ(q.codes.sizes(), at::IntArrayRef({b, h, n / group, d * group / per_word}));
    at::Tensor dequantized = kivi_dequantize_keys(q, group, bits).contiguous();
    at::Tensor expected = at::empty_like(x);
    at::Tensor codes = q.codes.contiguous(), scale = q.scale.contiguous(), zero = q.zero.contiguous();
    for (int64_t bh = 0; bh < b * h; ++bh) {
      for (int64_t g = 0; g < n / group; ++g) {
        for (int64_t c = 0; c < d; ++c) {
          const int64_t first = (bh * n + g * group) * d + c;  // token g * group, channel c
          float s, z;
          auto plain = plain_quantize_group(x.data_ptr<float>() + first, group, d, bits, &s, &z,
                                            expected.data_ptr<float>() + first);
          const int64_t param = (bh * (n / group) + g) * d + c;
          ASSERT_EQ(bits_of(scale.data_ptr<float>()[param]), bits_of(s)) << bits << " bits, group " << g;
          ASSERT_EQ(bits_of(zero.data_ptr<float>()[param]), bits_of(z));
          for (int64_t w = 0; w < group / per_word; ++w) {
            uint32_t word = 0;
            for (int64_t i = 0; i < per_word; ++i) word |= plain[static_cast<size_t>(w * per_word + i)] << (i * bits);
            ASSERT_EQ(static_cast<uint32_t>(codes.data_ptr<int32_t>()[param * (group / per_word) + w]), word)
                << bits << " bits, group " << g << " channel " << c << " word " << w;
          }
        }
      }
    }
    EXPECT_TRUE(at::equal(dequantized, expected)) << bits << " bits";
    // The reference's layout [B, H, d, n * bits / 32]: channel c's words in token order.
    at::Tensor reference_layout = kivi_key_codes_reference_layout(q.codes, d);
    EXPECT_TRUE(at::equal(reference_layout.select(2, 5).narrow(2, group / per_word, group / per_word),
                          q.codes.view({b, h, n / group, d, group / per_word}).select(3, 5).select(2, 1)));
  }
}

TEST(Kivi, ValueQuantizationEqualsPlainLoopBitForBit) {
  for (int64_t bits : {2, 4, 8}) {
    const int64_t b = 2, h = 3, n = 37, d = 96, group = 32, per_word = 32 / bits;
    at::Tensor x = test_tensor(b, h, n, d, 11 + bits).contiguous();
    KiviQuantized q = kivi_quantize_values(x, group, bits);
    ASSERT_EQ(q.codes.sizes(), at::IntArrayRef({b, h, n, d / per_word}));
    at::Tensor dequantized = kivi_dequantize_values(q, group, bits).contiguous();
    at::Tensor expected = at::empty_like(x);
    at::Tensor codes = q.codes.contiguous(), scale = q.scale.contiguous(), zero = q.zero.contiguous();
    for (int64_t row = 0; row < b * h * n; ++row) {
      for (int64_t g = 0; g < d / group; ++g) {
        const int64_t first = row * d + g * group;
        float s, z;
        auto plain = plain_quantize_group(x.data_ptr<float>() + first, group, 1, bits, &s, &z,
                                          expected.data_ptr<float>() + first);
        const int64_t param = row * (d / group) + g;
        ASSERT_EQ(bits_of(scale.data_ptr<float>()[param]), bits_of(s));
        ASSERT_EQ(bits_of(zero.data_ptr<float>()[param]), bits_of(z));
        for (int64_t w = 0; w < group / per_word; ++w) {
          uint32_t word = 0;
          for (int64_t i = 0; i < per_word; ++i) word |= plain[static_cast<size_t>(w * per_word + i)] << (i * bits);
          ASSERT_EQ(static_cast<uint32_t>(codes.data_ptr<int32_t>()[row * (d / per_word) + g * group / per_word + w]),
                    word);
        }
      }
    }
    EXPECT_TRUE(at::equal(dequantized, expected)) << bits << " bits";
  }
}

// Error on N(0, 1) data. Per group the step is D = (max - min) / (2^b - 1); rounding to the
// nearest level leaves an error in [-D/2, D/2] for every element (checked element-wise, with a
// relative float-rounding allowance of 2^-20 of the group range), and, modelling the error as
// uniform on that interval (Sheppard), a mean square error of D^2 / 12 for the group's other
// n - 2 elements (its min and max are levels themselves: error 0 up to rounding). So the expected
// MSE over all groups is the mean of (n - 2) / n * D^2 / 12. Tolerance: (a) sampling: the squared
// error of a uniform variable has relative standard deviation sqrt(4/5), so the mean over N = 2^20
// elements is within 3 * sqrt(0.8 / N) = 0.3 % of its expectation; (b) model bias, from the Gaussian
// density not being flat within a cell: interior cells see its curvature, a relative correction of
// (D^2 / 30) * mean(p''/p) = about -1.4 % at 2 bits (D ~ 1.4 sigma; mean(p''/p) = (p'(max) -
// p'(min)) / mass ~ -0.23 for a group spanning +-2 sigma); the two half cells at the group's ends see
// its slope (|p'/p| ~ 2 there), errors skewed towards D/2, at most +D/8 * 2 = +34 % on their <= 13 %
// of the mass: <= +4.5 %. At 4 bits (D ~ 0.27 sigma) both are below 0.2 %. Tolerances 5 % (2 bits)
// and 1 % (4 bits) cover these; a defect (truncating instead of rounding: 4x the MSE; another
// grouping: another D) is far outside.
TEST(Kivi, GaussianErrorIsTheUniformQuantizationError) {
  for (int64_t bits : {2, 4}) {
    const int64_t group = 32;
    const double max_code = static_cast<double>((1 << bits) - 1);
    at::manual_seed(100 + bits);
    at::Tensor x = at::randn({1, 8, 2048, 64});  // 2^20 elements
    for (bool keys : {true, false}) {
      at::Tensor dequantized, step;  // step: each element's group D, broadcast to x's shape
      if (keys) {
        KiviQuantized q = kivi_quantize_keys(x, group, bits);
        dequantized = kivi_dequantize_keys(q, group, bits);
        step = (q.scale.unsqueeze(3).expand({1, 8, 2048 / group, group, 64})).reshape({1, 8, 2048, 64});
      } else {
        KiviQuantized q = kivi_quantize_values(x, group, bits);
        dequantized = kivi_dequantize_values(q, group, bits);
        step = q.scale.unsqueeze(-1).expand({1, 8, 2048, 2, group}).reshape({1, 8, 2048, 64});
      }
      at::Tensor error = (dequantized - x).to(at::kDouble);
      at::Tensor d = step.to(at::kDouble);
      // Element-wise bound |e| <= D/2 (+ float rounding of (x - min) / D and code * D + min).
      EXPECT_TRUE((error.abs() <= d * (0.5 + 1e-5) + 1e-6).all().item<bool>()) << bits << " bits, keys " << keys;
      const double measured = error.pow(2).mean().item<double>();
      const double expected = (d.pow(2) / 12.0).mean().item<double>() * (group - 2) / group;
      const double tolerance = bits == 2 ? 0.05 : 0.01;
      EXPECT_NEAR(measured / expected, 1.0, tolerance)
          << bits << " bits, keys " << keys << ": measured MSE " << measured << ", model " << expected;
      // And the model's D^2 / 12 is the textbook figure: for a 32-sample Gaussian range of about
      // 4.1 sigma, (4.1 / (2^b - 1))^2 / 12 = 0.156 (2 bits), 0.0062 (4 bits).
      const double textbook = std::pow(4.1 / max_code, 2) / 12.0;
      EXPECT_NEAR(expected / textbook, 1.0, 0.1) << bits << " bits";
      std::printf("[kivi] %lld bits %s: MSE %.5f, model %.5f (ratio %.4f)\n", static_cast<long long>(bits),
                  keys ? "keys" : "values", measured, expected, measured / expected);
    }
  }
}

// The kernel's per-element code lookups on the CPU: every code of a packed key/value cache equals
// the LibTorch unpacking (the dequantized value is code * scale + zero at the looked-up index).
TEST(Kivi, KernelCodeLookupsMatchTheUnpacking) {
  for (int64_t bits : {2, 4, 8}) {
    const int64_t b = 2, h = 2, n = 64, d = 64, group = 32;
    at::Tensor x = at::randn({b, h, n, d});
    KiviQuantized kq = kivi_quantize_keys(x, group, bits);
    KiviQuantized vq = kivi_quantize_values(x, group, bits);
    at::Tensor keys = kivi_dequantize_keys(kq, group, bits), values = kivi_dequantize_values(vq, group, bits);
    kernels::KiviAttentionArgs a;
    a.key_codes = kq.codes.data_ptr<int32_t>();
    a.value_codes = vq.codes.data_ptr<int32_t>();
    a.batch = b;
    a.kv_heads = h;
    a.head_dim = d;
    a.group = group;
    a.key_bits = a.value_bits = bits;
    a.key_groups = n / group;
    a.value_rows = n;
    const float* ks = kq.scale.data_ptr<float>();
    const float* kz = kq.zero.data_ptr<float>();
    const float* vs = vq.scale.data_ptr<float>();
    const float* vz = vq.zero.data_ptr<float>();
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t hi = 0; hi < h; ++hi)
        for (int64_t r = 0; r < n; ++r)
          for (int64_t c = 0; c < d; ++c) {
            const int64_t kp = kernels::kivi_key_param_index(a, bi, hi, r, c);
            const float k = static_cast<float>(kernels::kivi_key_code(a, bi, hi, r, c)) * ks[kp] + kz[kp];
            ASSERT_EQ(bits_of(k), bits_of(keys[bi][hi][r][c].item<float>())) << bits << " bits " << r << "," << c;
            const int64_t vp = kernels::kivi_value_param_index(a, bi, hi, r, c);
            const float v = static_cast<float>(kernels::kivi_value_code(a, bi, hi, r, c)) * vs[vp] + vz[vp];
            ASSERT_EQ(bits_of(v), bits_of(values[bi][hi][r][c].item<float>()));
          }
  }
}

// fp64 attention of query rows q [Hq, T, d] (slots offset..) over keys/values [Hkv, S, d], causal.
at::Tensor dense_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t offset, double scale) {
  const int64_t hq = q.size(0), t = q.size(1), s = k.size(1), group = hq / k.size(0);
  at::Tensor out = at::zeros({hq, t, q.size(2)}, at::kDouble);
  for (int64_t h = 0; h < hq; ++h) {
    at::Tensor logits = at::matmul(q[h].to(at::kDouble), k[h / group].to(at::kDouble).t()) * scale;  // [T, S]
    at::Tensor mask = at::arange(s).unsqueeze(0) > (at::arange(t) + offset).unsqueeze(1);
    logits.masked_fill_(mask, -INFINITY);
    out[h] = at::matmul(at::softmax(logits, -1), v[h / group].to(at::kDouble));
  }
  return out;
}

// Drives one layer through a chunked prompt and decode steps; after every call the quantized row
// counts follow the flush rule, the kv bytes equal kv_formula::kivi_kv_bytes, and the output equals
// an fp64 attention over the keys/values quantized by token group / by token as the rule says
// (a key's group is quantized as a whole, so its dequantized value does not depend on when).
TEST(Kivi, FlushScheduleAttentionAndMemoryFollowTheRule) {
  const int64_t hq = 4, hkv = 2, d = 64, group = 32, residual = 64, prompt = 150, steps = 80;
  for (auto [key_bits, value_bits] : {std::pair<int64_t, int64_t>{2, 2}, {4, 2}, {2, 4}}) {
    at::manual_seed(5);
    const int64_t n_all = prompt + steps;
    test::LayerSequence seq{at::randn({1, hq, n_all, d}), at::Tensor(), at::randn({1, hkv, n_all, d}),
                            at::randn({1, hkv, n_all, d}), at::arange(n_all, at::kLong).unsqueeze(0), 0.125};
    seq.key_pre_rope = seq.key;
    auto method = test::make_method("kivi", {{"key_bits", key_bits},
                                             {"value_bits", value_bits},
                                             {"group_size", group},
                                             {"residual_length", residual}});
    KVShape shape{1, hq, hkv, d};
    method->reset({shape, nullptr, nullptr}, 1, n_all);
    // flushed: the call ended the prompt or was a decode step (else nothing is quantized yet).
    auto check = [&](const at::Tensor& out, int64_t n, int64_t t, bool exact, bool flushed = true) {
      const int64_t q_k = flushed ? n / residual * residual : 0;
      const int64_t q_v = flushed ? std::max<int64_t>(0, n - residual) : 0;
      const nlohmann::json stats = method->stats();
      EXPECT_EQ(stats["quantized_key_rows"].get<double>(), static_cast<double>(q_k)) << n;
      EXPECT_EQ(stats["quantized_value_rows"].get<double>(), static_cast<double>(q_v)) << n;
      if (flushed) {
        EXPECT_EQ(method->memory().kv_device_bytes,
                  kv_formula::kivi_kv_bytes(shape, 1, n, group, residual, key_bits, value_bits, 4))
            << n;
      }
      at::Tensor k = seq.key[0].narrow(1, 0, n), v = seq.value[0].narrow(1, 0, n);
      if (!exact) {
        // Before this call's flush: rows quantized by the previous calls.
        const int64_t nk = (n - t) / residual * residual, nv = std::max<int64_t>(0, n - t - residual);
        KiviQuantized kq = kivi_quantize_keys(seq.key.narrow(2, 0, nk), group, key_bits);
        KiviQuantized vq = kivi_quantize_values(seq.value.narrow(2, 0, nv), group, value_bits);
        k = at::cat({kivi_dequantize_keys(kq, group, key_bits)[0], k.narrow(1, nk, n - nk)}, 1);
        v = at::cat({kivi_dequantize_values(vq, group, value_bits)[0], v.narrow(1, nv, n - nv)}, 1);
      }
      at::Tensor expected = dense_attention(seq.query[0].narrow(1, n - t, t), k, v, n - t, seq.scale);
      // fp32 attention over n <= 230 rows of |logit| <~ 5 against fp64: each logit carries <= d * eps
      // * sum|q k| * scale ~ 64 * 1.2e-7 * 8 = 6e-5, outputs mix values |v| <= 5 with weights summing
      // to 1 rounded to n * eps: 1e-3 bounds both with margin.
      EXPECT_LT((out[0].to(at::kDouble) - expected).abs().max().item<double>(), 1e-3) << n;
    };
    at::Tensor out = method->attend(seq.call(0, 100, AttentionPhase::kPrefill, false));
    check(out, 100, 100, true, /*flushed=*/false);  // not the last chunk: nothing quantized yet
    out = method->attend(seq.call(100, prompt - 100, AttentionPhase::kPrefill, true));
    check(out, prompt, prompt - 100, true);  // the prompt attends itself exactly
    for (int64_t step = 0; step < steps; ++step) {
      const int64_t n = prompt + step + 1;
      out = method->attend(seq.call(n - 1, 1, AttentionPhase::kDecode));
      check(out, n, 1, false);
    }
    EXPECT_GE(method->memory().peak_device_bytes, 2 * hkv * prompt * d * 4);  // the fp prompt before quantizing
  }
}

TEST(Kivi, SixteenBitsOrAResidualCoveringTheSequenceEqualsFullCacheOnEveryTinyModel) {
  test::expect_equivalent_to_full("kivi", {{"key_bits", 16}, {"value_bits", 16}});
  test::expect_equivalent_to_full("kivi", {{"residual_length", 4096}});
  test::EquivalenceOptions options;
  options.prompt_tokens = 150;
  options.prefill_chunk = 64;
  options.max_new_tokens = 8;
  test::expect_equivalent_to_full("kivi", {{"key_bits", 16}, {"value_bits", 16}}, options);
  test::expect_equivalent_to_full("kivi", {{"key_bits", 4}, {"value_bits", 2}, {"residual_length", 160}}, options);
}

TEST(Kivi, BadParametersAreConfigErrors) {
  auto expect_config_error = [](const nlohmann::json& params, const std::string& needle) {
    try {
      test::make_method("kivi", params);
      ADD_FAILURE() << "accepted " << params.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kConfig) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_config_error({{"key_bits", 3}}, "method.params.key_bits");
  expect_config_error({{"value_bits", 5}}, "method.params.value_bits");
  expect_config_error({{"residual_length", 40}}, "method.params.residual_length");
  expect_config_error({{"group_size", 8}}, "method.params.group_size");  // 2 bits: 16 codes per word
}

}  // namespace
}  // namespace kvbench
