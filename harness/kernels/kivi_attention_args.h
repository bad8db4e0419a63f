// SPDX-License-Identifier: Apache-2.0
// The KIVI attention kernel's arguments (plain data, no CUDA or torch headers) and its per-element
// code lookups, shared by the launcher (kivi_attention.h), the kernel (kivi_attention.cuh) and the
// CPU emulation test. Semantics and layouts: harness/kv/kivi_attention.h (KiviCacheView); all arrays
// contiguous; rows 0 .. S-1 are the quantized rows, then the residual rows.
#pragma once

#include "harness/kernels/host_device.h"

#include <cstdint>

namespace kvbench {
namespace kernels {

enum class KiviDtype { kFloat32, kBFloat16, kFloat16 };

struct KiviAttentionArgs {
  const void* query = nullptr;           // [B, Hq, T, d]
  const int32_t* key_codes = nullptr;    // [B, Hkv, key_groups, d * group / key_per_word]
  const void* key_scale = nullptr;       // [B, Hkv, key_groups, d]
  const void* key_zero = nullptr;        // [B, Hkv, key_groups, d]
  const void* key_residual = nullptr;    // [B, Hkv, key_residual_rows, d]
  const int32_t* value_codes = nullptr;  // [B, Hkv, value_rows, d / value_per_word]
  const void* value_scale = nullptr;     // [B, Hkv, value_rows, d / group]
  const void* value_zero = nullptr;      // [B, Hkv, value_rows, d / group]
  const void* value_residual = nullptr;  // [B, Hkv, value_residual_rows, d]
  void* out = nullptr;                   // [B, Hq, T, d]
  float* scores = nullptr;               // workspace [B, Hq, T, S]
  KiviDtype dtype = KiviDtype::kFloat32;
  int64_t batch = 0, q_heads = 0, kv_heads = 0, t = 0, head_dim = 0, group = 0;
  int64_t key_bits = 2, value_bits = 2;  // 2, 4 or 8 where that side has quantized rows
  int64_t key_groups = 0, key_residual_rows = 0, value_rows = 0, value_residual_rows = 0;
  int64_t q_offset = 0;
  float scale = 1.f;
};

constexpr int kKiviAttentionThreads = 128;

KVBENCH_HD int64_t kivi_rows(const KiviAttentionArgs& a) { return a.key_groups * a.group + a.key_residual_rows; }

// Code of quantized key row r (< key_groups * group), channel c, KV head h of sequence b; its scale
// and zero sit at index kivi_key_param_index.
KVBENCH_HD int64_t kivi_key_param_index(const KiviAttentionArgs& a, int64_t b, int64_t h, int64_t r, int64_t c) {
  return ((b * a.kv_heads + h) * a.key_groups + r / a.group) * a.head_dim + c;
}
KVBENCH_HD uint32_t kivi_key_code(const KiviAttentionArgs& a, int64_t b, int64_t h, int64_t r, int64_t c) {
  const int64_t per_word = 32 / a.key_bits;
  const int64_t words = a.group / per_word;  // per (group, channel)
  const int64_t i = r % a.group;
  const uint32_t word = static_cast<uint32_t>(a.key_codes[kivi_key_param_index(a, b, h, r, c) * words + i / per_word]);
  return (word >> ((i % per_word) * a.key_bits)) & ((1u << a.key_bits) - 1u);
}

// Code of quantized value row r (< value_rows), channel c; scale/zero at kivi_value_param_index.
KVBENCH_HD int64_t kivi_value_param_index(const KiviAttentionArgs& a, int64_t b, int64_t h, int64_t r, int64_t c) {
  return ((b * a.kv_heads + h) * a.value_rows + r) * (a.head_dim / a.group) + c / a.group;
}
KVBENCH_HD uint32_t kivi_value_code(const KiviAttentionArgs& a, int64_t b, int64_t h, int64_t r, int64_t c) {
  const int64_t per_word = 32 / a.value_bits;
  const uint32_t word =
      static_cast<uint32_t>(a.value_codes[((b * a.kv_heads + h) * a.value_rows + r) * (a.head_dim / per_word) +
                                          c / per_word]);
  return (word >> ((c % per_word) * a.value_bits)) & ((1u << a.value_bits) - 1u);
}

}  // namespace kernels
}  // namespace kvbench
