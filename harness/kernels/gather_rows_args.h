// SPDX-License-Identifier: Apache-2.0
// The row gather kernel's arguments (plain data, no CUDA or torch headers) and its vector-width
// rule, shared by the launcher (gather_rows.h) and the kernel's per-element code (kernel_math.h).
// Semantics: harness/kv/ops.h `gather_rows`. Rows are copied as bytes; strides are in bytes.
#pragma once

#include <cstdint>

namespace kvbench {
namespace kernels {

struct GatherRowsArgs {
  const void* src = nullptr;        // row (b, h, s) at src + b*src_stride_b + h*src_stride_h + s*src_stride_s
  void* out = nullptr;              // row (b, h, i) at out + b*out_stride_b + h*out_stride_h + i*out_stride_k
  const int64_t* index = nullptr;   // [B, H, k] contiguous, values in [0, src_rows)
  int* bad_index = nullptr;         // optional device flag, set to 1 when an index is out of range
  int64_t batch = 0, heads = 0, src_rows = 0, k = 0, row_bytes = 0;
  int64_t src_stride_b = 0, src_stride_h = 0, src_stride_s = 0;
  int64_t out_stride_b = 0, out_stride_h = 0, out_stride_k = 0;
};

// Widest copy unit (16, 8, 4, 2 or 1 bytes) that divides the row size, every stride and both base
// addresses, so every vector access is aligned. Host code: launch_gather_rows picks the kernel's
// vector type with it.
inline int gather_rows_vector_bytes(const GatherRowsArgs& a) {
  const int64_t values[] = {a.row_bytes,    a.src_stride_b, a.src_stride_h, a.src_stride_s,
                            a.out_stride_b, a.out_stride_h, a.out_stride_k,
                            static_cast<int64_t>(reinterpret_cast<uintptr_t>(a.src)),
                            static_cast<int64_t>(reinterpret_cast<uintptr_t>(a.out))};
  for (int bytes = 16; bytes > 1; bytes /= 2) {
    bool ok = true;
    for (int64_t v : values) ok = ok && v % bytes == 0;
    if (ok) return bytes;
  }
  return 1;
}

}  // namespace kernels
}  // namespace kvbench
