// SPDX-License-Identifier: Apache-2.0
// Raw-pointer launcher of the row gather kernel (gather_rows.cuh); no torch. Semantics:
// harness/kv/ops.h `gather_rows`. Rows are copied as bytes; strides are in bytes.
#pragma once

#include <cuda_runtime_api.h>

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
// addresses, so every vector access is aligned.
int gather_rows_vector_bytes(const GatherRowsArgs& args);

// Copies with vectors of gather_rows_vector_bytes(args) bytes; returns the launch status.
cudaError_t launch_gather_rows(const GatherRowsArgs& args, cudaStream_t stream);

}  // namespace kernels
}  // namespace kvbench
