// SPDX-License-Identifier: Apache-2.0
// Fused HIGGS landmark scoring (methods.md 1.8, 1.12): scores = query . dequant(landmark) per KV head
// without dequantizing. For a head h inside Hadamard group j, q . x^_j = (scale_j / g) (H_g q~) . G[codes_j]
// with q~ the query zero-extended to the group's coordinates (H_g symmetric, H_g H_g = g I), so
//   1. hadamard_query_kernel transforms each query row once: qt [B, Hkv, Gq, W], W = max(g, d);
//   2. landmark_scores_kernel: one warp per landmark t, lanes over the code bytes of the head's
//      groups, grid points from shared memory, a warp sum per (head, query row).
// Raw pointers only (no torch headers); arguments: landmark_scores.h.
#pragma once

#include "harness/kernels/landmark_scores.h"

#include <cstdint>

namespace kvbench {
namespace kernels {

// qt[b, h, q, w] for w in [0, W): with j0 = (h * d) / g the head's first group, coordinate w lies in
// group j = j0 + w / g at in-group index i = w % g, and
//   qt[w] = sum over head channels p whose global channel c = h * d + p lies in group j of
//           H_g[i][c % g] * query[b, h, q, p],    H_g[i][m] = (-1)^popcount(i & m).
// (g >= d: the head lies in one group, w / g == 0; g < d: the head spans d / g groups of g channels.)
__global__ void hadamard_query_kernel(LandmarkScoresArgs a) {
  const int64_t width = a.group > a.head_dim ? a.group : a.head_dim;
  const int64_t total = a.batch * a.num_kv_heads * a.q_rows * width;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t w = idx % width;
    const int64_t row = idx / width;                    // (b * Hkv + h) * Gq + q
    const int64_t h = (row / a.q_rows) % a.num_kv_heads;
    const float* q = a.query + row * a.head_dim;
    const int64_t j = (h * a.head_dim) / a.group + w / a.group;
    const int64_t i = w % a.group;
    float acc = 0.f;
    for (int64_t p = 0; p < a.head_dim; ++p) {
      const int64_t c = h * a.head_dim + p;
      if (c / a.group != j) continue;
      const bool negative = __popcll(static_cast<unsigned long long>(i & (c % a.group))) & 1;
      acc += negative ? -q[p] : q[p];
    }
    a.query_hadamard[idx] = acc;
  }
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;  // complete in lane 0
}

// Block = kWarps warps, grid = (landmark tiles, B). Dynamic shared memory: the grid, 256 * D floats.
// Head h reads the codes of its groups: entries e in [0, W / D), code byte j0 * g / D + e, whose
// group is j0 + e * D / g and whose D query coordinates are qt[e * D, e * D + D).
template <int kWarps>
__global__ void landmark_scores_kernel(LandmarkScoresArgs a) {
  extern __shared__ float grid_s[];
  for (int64_t i = threadIdx.x; i < 256 * a.grid_dim; i += blockDim.x) grid_s[i] = a.grid[i];
  __syncthreads();
  const int64_t b = blockIdx.y;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int64_t width = a.group > a.head_dim ? a.group : a.head_dim;
  const int64_t entries = width / a.grid_dim;
  const float inv_group = 1.f / static_cast<float>(a.group);
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * kWarps + warp; t < a.n;
       t += static_cast<int64_t>(gridDim.x) * kWarps) {
    const uint8_t* code_row = a.codes + (b * a.n + t) * a.codes_per_row;
    const float* scale_row = a.scales + (b * a.n + t) * a.groups_per_row;
    for (int64_t h = 0; h < a.num_kv_heads; ++h) {
      const int64_t j0 = (h * a.head_dim) / a.group;
      const int64_t first_code = j0 * a.group / a.grid_dim;
      for (int64_t q = 0; q < a.q_rows; ++q) {
        const int64_t row = (b * a.num_kv_heads + h) * a.q_rows + q;
        const float* qt = a.query_hadamard + row * width;
        float acc = 0.f;
        for (int64_t e = lane; e < entries; e += 32) {
          const float* point = grid_s + static_cast<int64_t>(code_row[first_code + e]) * a.grid_dim;
          const float* qp = qt + e * a.grid_dim;
          float dot = 0.f;
          for (int64_t m = 0; m < a.grid_dim; ++m) dot += qp[m] * point[m];
          acc += scale_row[j0 + (e * a.grid_dim) / a.group] * dot;
        }
        acc = warp_sum(acc);
        if (lane == 0) a.scores[row * a.n + t] = acc * inv_group;
      }
    }
  }
}

}  // namespace kernels
}  // namespace kvbench
