// SPDX-License-Identifier: Apache-2.0
// The KIVI attention CUDA kernel (harness/kernels/kivi_attention.cuh) against its LibTorch
// reference (kivi_attention_reference, on the CPU) on awkward shapes: batch 2, GQA 7:1 and 3:1,
// head_dim 32/96/128, key groups 0..3 with a partial residual, values quantized and not, several
// query rows with a causal offset, 2/4/8/16 bits, float32 and bfloat16; then the kivi method run on
// the GPU against the same method on the CPU. Exits 77 (ctest: skipped) without a CUDA device.
#include "harness/kv/kivi_attention.h"
#include "harness/kv/kivi_quant.h"
#include "tests/methods/attention_calls.h"
#include "tests/methods/method_equivalence.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

namespace kvbench {
namespace {

struct Shape {
  int64_t b, hq, hkv, d, key_groups, key_residual, value_rows, t;
  int64_t key_bits, value_bits;
};

KiviQuantized to(const KiviQuantized& q, const at::TensorOptions& float_options) {
  if (!q.codes.defined()) return q;
  return {q.codes.to(float_options.device()), q.scale.to(float_options), q.zero.to(float_options)};
}

TEST(KiviCuda, KernelMatchesTheReferenceOnAwkwardShapes) {
  const int64_t group = 32;
  const Shape shapes[] = {
      {2, 7, 1, 96, 3, 13, 71, 3, 2, 2},   // S = 109: keys 96 quantized + 13, values 71 + 38
      {2, 6, 2, 128, 1, 31, 30, 1, 4, 2},  // S = 63, decode
      {1, 3, 3, 32, 2, 0, 64, 5, 8, 4},    // S = 64, no key residual
      {2, 4, 2, 64, 0, 20, 0, 4, 2, 2},    // nothing quantized yet
      {1, 6, 2, 64, 2, 5, 0, 2, 2, 16},    // values never quantized
      {1, 4, 1, 64, 0, 45, 13, 1, 16, 4},  // keys never quantized
  };
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    for (const Shape& sh : shapes) {
      const int64_t s = sh.key_groups * group + sh.key_residual;
      SCOPED_TRACE("d " + std::to_string(sh.d) + ", S " + std::to_string(s) + ", T " + std::to_string(sh.t) +
                   ", bits " + std::to_string(sh.key_bits) + "/" + std::to_string(sh.value_bits) + ", " +
                   c10::toString(dtype));
      at::manual_seed(s * 31 + sh.d);
      at::Tensor keys = at::randn({sh.b, sh.hkv, s, sh.d}), values = at::randn({sh.b, sh.hkv, s, sh.d}) * 2 + 0.5;
      at::Tensor query = at::randn({sh.b, sh.hq, sh.t, sh.d});
      KiviCacheView cpu;
      cpu.group = group;
      cpu.key_bits = sh.key_bits;
      cpu.value_bits = sh.value_bits;
      const int64_t kq = sh.key_groups * group;
      if (kq > 0) cpu.keys = kivi_quantize_keys(keys.narrow(2, 0, kq), group, sh.key_bits);
      if (sh.value_rows > 0) cpu.values = kivi_quantize_values(values.narrow(2, 0, sh.value_rows), group, sh.value_bits);
      cpu.key_residual = keys.narrow(2, kq, sh.key_residual).contiguous();
      cpu.value_residual = values.narrow(2, sh.value_rows, s - sh.value_rows).contiguous();
      // The kernel's inputs in `dtype`; the reference sees exactly those values upcast to float32.
      auto cast = [&](const at::Tensor& t) { return t.to(dtype).to(at::kFloat); };
      query = cast(query);
      if (kq > 0) cpu.keys = {cpu.keys.codes, cast(cpu.keys.scale), cast(cpu.keys.zero)};
      if (sh.value_rows > 0) cpu.values = {cpu.values.codes, cast(cpu.values.scale), cast(cpu.values.zero)};
      cpu.key_residual = cast(cpu.key_residual);
      cpu.value_residual = cast(cpu.value_residual);
      KiviCacheView gpu = cpu;
      const auto options = at::TensorOptions().dtype(dtype).device(at::kCUDA);
      gpu.keys = to(cpu.keys, options);
      gpu.values = to(cpu.values, options);
      gpu.key_residual = cpu.key_residual.to(options);
      gpu.value_residual = cpu.value_residual.to(options);
      const double scale = 1.0 / std::sqrt(static_cast<double>(sh.d));
      const int64_t q_offset = s - sh.t;
      at::Tensor expected = kivi_attention_reference(query, cpu, q_offset, scale).to(at::kDouble);
      at::Tensor got = kivi_attention(query.to(options), gpu, q_offset, scale).cpu().to(at::kDouble);
      // Same dequantized rows (the kernel rounds code * scale and + zero like the reference), fp32
      // sums in another order: per logit <= 2 * d * eps * A (A = max|q|_2 max|k^|_2 scale), each
      // softmax weight relatively <= 2x its logit error, the weighted sum of S rows S * eps, all
      // times max|v^|; bfloat16 output adds its final rounding, 2^-9 relative.
      constexpr double kEps = 1.1920928955078125e-7;
      const double a = query.norm(2, -1).max().item<double>() *
                       kivi_dequantized_keys(cpu).norm(2, -1).max().item<double>() * scale;
      const double max_v = kivi_dequantized_values(cpu).abs().max().item<double>();
      double tolerance = max_v * (4.0 * sh.d * kEps * a + 2.0 * s * kEps);
      if (dtype == at::kBFloat16) tolerance += std::ldexp(1.0, -9) * expected.abs().max().item<double>();
      const double diff = (got - expected).abs().max().item<double>();
      EXPECT_LE(diff, tolerance);
      std::printf("[kivi-cuda] %s d %lld S %lld: max diff %.3g (bound %.3g)\n", c10::toString(dtype),
                  static_cast<long long>(sh.d), static_cast<long long>(s), diff, tolerance);
    }
  }
}

TEST(KiviCuda, BadInputsAreErrors) {
  KiviCacheView gpu;
  const auto options = at::TensorOptions().device(at::kCUDA);
  gpu.key_residual = at::randn({1, 2, 10, 64}, options);
  gpu.value_residual = at::randn({1, 2, 9, 64}, options);
  EXPECT_THROW(kivi_attention(at::randn({1, 4, 1, 64}, options), gpu, 9, 0.125), Error);  // 10 vs 9 rows
  gpu.value_residual = at::randn({1, 2, 10, 64});                                           // on the CPU
  EXPECT_THROW(kivi_attention(at::randn({1, 4, 1, 64}, options), gpu, 9, 0.125), Error);
}

// The method on the GPU (its slot stores, quantizer and the kernel) against the method on the CPU.
TEST(KiviCuda, MethodOnTheGpuMatchesTheCpu) {
  const int64_t hq = 6, hkv = 2, d = 64, prompt = 90, steps = 40, n = prompt + steps;
  at::manual_seed(3);
  test::LayerSequence seq{at::randn({1, hq, n, d}), at::Tensor(), at::randn({1, hkv, n, d}), at::randn({1, hkv, n, d}),
                          at::arange(n, at::kLong).unsqueeze(0), 0.125};
  seq.key_pre_rope = seq.key;
  test::LayerSequence on_gpu{seq.query.cuda(), seq.key.cuda(), seq.key.cuda(), seq.value.cuda(),
                             seq.positions.cuda(), 0.125};
  const nlohmann::json params = {{"key_bits", 2}, {"value_bits", 4}, {"residual_length", 32}};
  auto cpu = test::make_method("kivi", params);
  auto gpu = test::make_method("kivi", params);
  cpu->reset({KVShape{1, hq, hkv, d}, nullptr, nullptr}, 1, n);
  gpu->reset({KVShape{1, hq, hkv, d}, nullptr, nullptr}, 1, n);
  auto compare = [](const at::Tensor& a, const at::Tensor& b) {
    // Prefill: two exact attentions (SDPA on either device); decode: kernel vs reference as above,
    // |q|, |k^| <~ 12, d 64, S <= 130: both well under 1e-4 with |v| <~ 5.
    EXPECT_LT((a.to(at::kDouble) - b.cpu().to(at::kDouble)).abs().max().item<double>(), 1e-4);
  };
  compare(cpu->attend(seq.call(0, prompt, AttentionPhase::kPrefill)),
          gpu->attend(on_gpu.call(0, prompt, AttentionPhase::kPrefill)));
  for (int64_t p = prompt; p < n; ++p)
    compare(cpu->attend(seq.call(p, 1, AttentionPhase::kDecode)), gpu->attend(on_gpu.call(p, 1, AttentionPhase::kDecode)));
  EXPECT_EQ(cpu->memory().kv_device_bytes, gpu->memory().kv_device_bytes);
  EXPECT_EQ(cpu->stats(), gpu->stats());
}

}  // namespace
}  // namespace kvbench
