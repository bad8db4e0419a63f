// SPDX-License-Identifier: Apache-2.0
// ShadowKV key reconstruction (methods.md 2.3 step 6): keys = RoPE(U[pos] @ SV_h, pos).
// Block = (tile of kRows rows, KV head h, batch b), head_dim / 2 threads. The tile's U rows are
// staged in shared memory as float; thread j accumulates the pair of output channels (j, j + d/2)
// of every row of the tile over the rank in float32 (SV reads coalesced across threads), then
// applies the rotate-half RoPE
//   out[j]       = k[j] * cos[j]             - k[j + d/2] * sin[j]
//   out[j + d/2] = k[j + d/2] * cos[j + d/2] + k[j] * sin[j + d/2]
// and rounds once to the output dtype. Raw pointers only (no torch headers); arguments:
// reconstruct_keys.h.
#pragma once

#include "harness/kernels/reconstruct_keys.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace kvbench {
namespace kernels {

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }
template <>
__device__ __forceinline__ __half from_float<__half>(float v) { return __float2half(v); }

template <typename T, int kRows>
__global__ void reconstruct_keys_kernel(ReconstructKeysArgs a) {
  extern __shared__ float u_tile[];  // [kRows, rank]
  __shared__ int64_t tile_pos[kRows];  // source position of each tile row, -1: none / out of range
  const T* u = static_cast<const T*>(a.u);
  const T* sv = static_cast<const T*>(a.sv);
  const T* cos = static_cast<const T*>(a.cos);
  const T* sin = static_cast<const T*>(a.sin);
  T* keys = static_cast<T*>(a.keys);
  const int64_t b = blockIdx.z;
  const int64_t h = blockIdx.y;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kRows;
  const int64_t rows = (a.n - first) < kRows ? (a.n - first) : kRows;
  const int64_t head_row0 = (b * a.heads + h) * a.n;  // row index of (b, h, 0) in positions/cos/sin/keys
  for (int rr = threadIdx.x; rr < kRows; rr += blockDim.x) {
    int64_t pos = -1;
    if (rr < rows) {
      pos = a.positions[head_row0 + first + rr];
      if (pos < 0 || pos >= a.seq) {
        if (a.bad_position != nullptr) atomicExch(a.bad_position, 1);
        pos = -1;
      }
    }
    tile_pos[rr] = pos;
  }
  __syncthreads();
  for (int64_t idx = threadIdx.x; idx < kRows * a.rank; idx += blockDim.x) {
    const int64_t rr = idx / a.rank;
    const int64_t m = idx % a.rank;
    const int64_t pos = tile_pos[rr];
    u_tile[idx] = pos >= 0 ? to_float(u[(b * a.seq + pos) * a.rank + m]) : 0.f;
  }
  __syncthreads();
  const int64_t half = a.head_dim / 2;
  const int64_t j = threadIdx.x;  // blockDim.x == half
  float lo[kRows], hi[kRows];
#pragma unroll
  for (int rr = 0; rr < kRows; ++rr) lo[rr] = hi[rr] = 0.f;
  const T* sv_h = sv + (b * a.heads + h) * a.rank * a.head_dim;
  for (int64_t m = 0; m < a.rank; ++m) {
    const float w_lo = to_float(sv_h[m * a.head_dim + j]);
    const float w_hi = to_float(sv_h[m * a.head_dim + j + half]);
#pragma unroll
    for (int rr = 0; rr < kRows; ++rr) {
      const float x = u_tile[rr * a.rank + m];
      lo[rr] += x * w_lo;
      hi[rr] += x * w_hi;
    }
  }
#pragma unroll
  for (int rr = 0; rr < kRows; ++rr) {
    if (rr >= rows) break;
    const int64_t base = (head_row0 + first + rr) * a.head_dim;
    float out_lo = 0.f, out_hi = 0.f;
    if (tile_pos[rr] >= 0) {
      out_lo = lo[rr] * to_float(cos[base + j]) - hi[rr] * to_float(sin[base + j]);
      out_hi = hi[rr] * to_float(cos[base + j + half]) + lo[rr] * to_float(sin[base + j + half]);
    }
    keys[base + j] = from_float<T>(out_lo);
    keys[base + j + half] = from_float<T>(out_hi);
  }
}

}  // namespace kernels
}  // namespace kvbench
