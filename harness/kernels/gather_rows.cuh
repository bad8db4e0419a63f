// SPDX-License-Identifier: Apache-2.0
// Row gather from device or host-mapped memory (methods.md 1.6 step 6, 1.12): a grid-stride loop
// over every copy unit (Vec = 16-byte uint4 when alignment allows) of every destination row; each
// thread reads the row's index, loads one unit from the source row and stores it. Out-of-range
// indices never touch src: the row is zero-filled and the optional flag is raised.
// Raw pointers only (no torch headers); arguments: gather_rows.h.
#pragma once

#include "harness/kernels/gather_rows.h"

#include <cstdint>

namespace kvbench {
namespace kernels {

template <typename Vec>
__global__ void gather_rows_kernel(GatherRowsArgs a) {
  const int64_t units = a.row_bytes / static_cast<int64_t>(sizeof(Vec));
  const int64_t total = a.batch * a.heads * a.k * units;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t unit = idx % units;
    const int64_t row = idx / units;  // (b * H + h) * k + i
    const int64_t i = row % a.k;
    const int64_t h = (row / a.k) % a.heads;
    const int64_t b = row / (a.k * a.heads);
    const int64_t s = a.index[row];
    Vec value{};
    if (s >= 0 && s < a.src_rows) {
      const char* src_row =
          static_cast<const char*>(a.src) + b * a.src_stride_b + h * a.src_stride_h + s * a.src_stride_s;
      value = reinterpret_cast<const Vec*>(src_row)[unit];
    } else if (a.bad_index != nullptr) {
      atomicExch(a.bad_index, 1);
    }
    char* out_row = static_cast<char*>(a.out) + b * a.out_stride_b + h * a.out_stride_h + i * a.out_stride_k;
    reinterpret_cast<Vec*>(out_row)[unit] = value;
  }
}

}  // namespace kernels
}  // namespace kvbench
