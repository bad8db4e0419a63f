// SPDX-License-Identifier: Apache-2.0
// The per-row top-k kernel's arguments (plain data, no CUDA or torch headers), shared by the
// launcher (topk.h) and the kernel (topk.cuh). Semantics and tie rule: harness/kv/ops.h
// `topk_per_head`.
#pragma once

#include <cstdint>

namespace kvbench {
namespace kernels {

struct TopkArgs {
  const float* scores = nullptr;  // [rows, n] contiguous
  int64_t* indices = nullptr;     // [rows, k] contiguous; ascending positions of the k largest
  int64_t rows = 0, n = 0, k = 0; // 1 <= k <= n < 2^31 when rows > 0
};

}  // namespace kernels
}  // namespace kvbench
