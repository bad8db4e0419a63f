// SPDX-License-Identifier: Apache-2.0
// Raw-pointer launcher of the per-row top-k kernel (topk.cuh); no torch. Semantics and tie rule:
// harness/kv/ops.h `topk_per_head`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace kvbench {
namespace kernels {

struct TopkArgs {
  const float* scores = nullptr;  // [rows, n] contiguous
  int64_t* indices = nullptr;     // [rows, k] contiguous; ascending positions of the k largest
  int64_t rows = 0, n = 0, k = 0; // 1 <= k <= n < 2^31 when rows > 0
};

cudaError_t launch_topk(const TopkArgs& args, cudaStream_t stream);

}  // namespace kernels
}  // namespace kvbench
