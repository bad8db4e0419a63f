// SPDX-License-Identifier: Apache-2.0
// Attention over a KIVI cache (methods.md section 6): per layer, the oldest keys quantized per
// channel in token groups, the oldest values quantized per token (harness/kv/kivi_quant.h), and the
// most recent keys and values in full precision (the residual; the two residuals may differ in
// length). Row order is quantized rows first, then the residual; both sides hold the same S rows.
// kivi_attention_reference dequantizes and attends exactly (LibTorch, any device);
// kivi_attention runs the CUDA kernel (harness/kernels/kivi_attention.cuh: dequantizes on the fly,
// nothing materialized) for CUDA inputs in CUDA builds, else the reference.
#pragma once

#include "harness/kv/kivi_quant.h"

#include <ATen/ATen.h>

#include <cstdint>

namespace kvbench {

// One layer's cache. Shapes (B batch, Hkv KV heads, d head_dim, g = group):
//   keys.codes [B, Hkv, Gk, d * g * key_bits / 32] int32, keys.scale/zero [B, Hkv, Gk, d]
//   key_residual [B, Hkv, Rk, d]                  (S = Gk * g + Rk)
//   values.codes [B, Hkv, Nv, d * value_bits / 32] int32, values.scale/zero [B, Hkv, Nv, d / g]
//   value_residual [B, Hkv, Rv, d]                 (S = Nv + Rv)
// A side with 16 bits is never quantized: its codes are undefined (Gk = 0 or Nv = 0).
// scale/zero/residuals share the query's dtype.
struct KiviCacheView {
  KiviQuantized keys;
  at::Tensor key_residual;
  KiviQuantized values;
  at::Tensor value_residual;
  int64_t group = 32;
  int64_t key_bits = 2;
  int64_t value_bits = 2;

  int64_t quantized_keys() const { return keys.codes.defined() ? keys.codes.size(2) * group : 0; }
  int64_t quantized_values() const { return values.codes.defined() ? values.codes.size(2) : 0; }
};

// query [B, Hq, T, d] (Hq a multiple of Hkv) for slots q_offset .. q_offset + T - 1 of the S rows:
// query t attends rows 0 .. q_offset + t (causal), softmax(q . k^ * scale) . v^. Returns [B, Hq, T, d].
at::Tensor kivi_attention(const at::Tensor& query, const KiviCacheView& cache, int64_t q_offset, double scale);
at::Tensor kivi_attention_reference(const at::Tensor& query, const KiviCacheView& cache, int64_t q_offset,
                                    double scale);

// The dequantized keys and values [B, Hkv, S, d] (quantized rows then the residual).
at::Tensor kivi_dequantized_keys(const KiviCacheView& cache);
at::Tensor kivi_dequantized_values(const KiviCacheView& cache);

}  // namespace kvbench
