// SPDX-License-Identifier: Apache-2.0
// Fused HIGGS landmark scoring (methods.md 1.8, 1.12): scores = query . dequant(landmark) per KV head
// without dequantizing. For a head h inside Hadamard group j, q . x^_j = (scale_j / g) (H_g q~) . G[codes_j]
// with q~ the query zero-extended to the group's coordinates (H_g symmetric, H_g H_g = g I), so
//   1. hadamard_query_kernel transforms each query row once: qt [B, Hkv, Gq, W], W = max(g, d);
//   2. landmark_scores_kernel: one warp per landmark t, lanes over the code bytes of the head's
//      groups, grid points from shared memory, a warp sum per (head, query row).
// Raw pointers only (no torch headers); arguments: landmark_scores.h.
#pragma once

#include "harness/kernels/kernel_math.h"
#include "harness/kernels/landmark_scores.h"

#include <cstdint>

namespace kvbench {
namespace kernels {

// qt = the Hadamard-transformed query (kernel_math.h `hadamard_query_value`), one element per thread.
__global__ void hadamard_query_kernel(LandmarkScoresArgs a) {
  const int64_t total = a.batch * a.num_kv_heads * a.q_rows * landmark_width(a);
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x)
    a.query_hadamard[idx] = hadamard_query_value(a, idx);
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;  // complete in lane 0
}

// Block = kWarps warps, grid = (landmark tiles, B). Dynamic shared memory: the grid, 256 * D floats.
// Warp w of the block scores landmark t; lane l sums the entries l, l + 32, ... of each head
// (kernel_math.h `landmark_partial_score`), the warp adds the lanes up and lane 0 writes score / g.
template <int kWarps>
__global__ void landmark_scores_kernel(LandmarkScoresArgs a) {
  extern __shared__ float grid_s[];
  for (int64_t i = threadIdx.x; i < 256 * a.grid_dim; i += blockDim.x) grid_s[i] = a.grid[i];
  __syncthreads();
  const int64_t b = blockIdx.y;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const float inv_group = 1.f / static_cast<float>(a.group);
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * kWarps + warp; t < a.n;
       t += static_cast<int64_t>(gridDim.x) * kWarps) {
    for (int64_t h = 0; h < a.num_kv_heads; ++h) {
      for (int64_t q = 0; q < a.q_rows; ++q) {
        const float acc = warp_sum(landmark_partial_score(a, grid_s, b, t, h, q, lane, 32));
        if (lane == 0) a.scores[landmark_score_index(a, b, h, q, t)] = acc * inv_group;
      }
    }
  }
}

}  // namespace kernels
}  // namespace kvbench
