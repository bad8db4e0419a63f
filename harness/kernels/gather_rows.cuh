// SPDX-License-Identifier: Apache-2.0
// Row gather from device or host-mapped memory (methods.md 1.6 step 6, 1.12): a grid-stride loop
// over every copy unit (Vec = 16-byte uint4 when alignment allows) of every destination row; each
// thread reads the row's index, loads one unit from the source row and stores it. Out-of-range
// indices never touch src: the row is zero-filled and the optional flag is raised.
// Raw pointers only (no torch headers); arguments: gather_rows.h.
#pragma once

#include "harness/kernels/gather_rows.h"
#include "harness/kernels/kernel_math.h"

#include <cstdint>

namespace kvbench {
namespace kernels {

template <typename Vec>
__global__ void gather_rows_kernel(GatherRowsArgs a) {
  constexpr int64_t kUnit = sizeof(Vec);
  const int64_t total = a.batch * a.heads * a.k * (a.row_bytes / kUnit);
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const char* src = nullptr;
    char* dst = nullptr;
    gather_unit_address(a, kUnit, idx, &src, &dst);
    Vec value{};
    if (src != nullptr) {
      value = *reinterpret_cast<const Vec*>(src);
    } else if (a.bad_index != nullptr) {
      atomicExch(a.bad_index, 1);
    }
    *reinterpret_cast<Vec*>(dst) = value;
  }
}

}  // namespace kernels
}  // namespace kvbench
