// SPDX-License-Identifier: Apache-2.0
// Attention over a KIVI cache with on-the-fly dequantization (methods.md section 6). One block of
// kKiviAttentionThreads threads per query row (b, query head, t): the query is staged in shared
// memory as float; each thread scores rows r = tid, tid + blockDim, ... (dequantizing key codes as
// code * scale + zero with explicitly rounded multiply and add, the reference's two IEEE
// operations) into the float workspace; block max and sum reductions give the softmax; then each
// thread accumulates output channels c = tid, tid + blockDim, ... over the visible rows in float32
// and rounds once to the output dtype. Raw pointers only (no torch headers); arguments:
// kivi_attention_args.h.
#pragma once

#include "harness/kernels/kivi_attention.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace kvbench {
namespace kernels {

__device__ __forceinline__ float kivi_load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float kivi_load(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ float kivi_load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void kivi_store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void kivi_store(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16(v); }
__device__ __forceinline__ void kivi_store(__half* p, int64_t i, float v) { p[i] = __float2half(v); }

template <typename T>
__device__ __forceinline__ float kivi_key(const KiviAttentionArgs& a, int64_t b, int64_t h, int64_t r, int64_t c) {
  const int64_t quantized = a.key_groups * a.group;
  if (r < quantized) {
    const int64_t p = kivi_key_param_index(a, b, h, r, c);
    return __fadd_rn(__fmul_rn(static_cast<float>(kivi_key_code(a, b, h, r, c)),
                               kivi_load(static_cast<const T*>(a.key_scale), p)),
                     kivi_load(static_cast<const T*>(a.key_zero), p));
  }
  return kivi_load(static_cast<const T*>(a.key_residual),
                   ((b * a.kv_heads + h) * a.key_residual_rows + (r - quantized)) * a.head_dim + c);
}

template <typename T>
__device__ __forceinline__ float kivi_value(const KiviAttentionArgs& a, int64_t b, int64_t h, int64_t r, int64_t c) {
  if (r < a.value_rows) {
    const int64_t p = kivi_value_param_index(a, b, h, r, c);
    return __fadd_rn(__fmul_rn(static_cast<float>(kivi_value_code(a, b, h, r, c)),
                               kivi_load(static_cast<const T*>(a.value_scale), p)),
                     kivi_load(static_cast<const T*>(a.value_zero), p));
  }
  return kivi_load(static_cast<const T*>(a.value_residual),
                   ((b * a.kv_heads + h) * a.value_residual_rows + (r - a.value_rows)) * a.head_dim + c);
}

// Block-wide max (is_max) or sum of one float per thread; every thread gets the result.
__device__ __forceinline__ float kivi_block_reduce(float v, bool is_max, float* scratch) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(0xffffffffu, v, offset);
    v = is_max ? fmaxf(v, other) : v + other;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = scratch[0];
  for (int w = 1; w < kKiviAttentionThreads / 32; ++w) total = is_max ? fmaxf(total, scratch[w]) : total + scratch[w];
  return total;
}

template <typename T>
__global__ void __launch_bounds__(kKiviAttentionThreads) kivi_attention_kernel(KiviAttentionArgs a) {
  extern __shared__ float q_row[];  // [d]
  __shared__ float scratch[kKiviAttentionThreads / 32];
  const int64_t row = blockIdx.x;  // (b, query head, t) in [B, Hq, T] order
  const int64_t t = row % a.t;
  const int64_t hq = (row / a.t) % a.q_heads;
  const int64_t b = row / (a.t * a.q_heads);
  const int64_t h = hq / (a.q_heads / a.kv_heads);
  const int64_t seq = kivi_rows(a);
  const int64_t visible = (a.q_offset + t + 1) < seq ? (a.q_offset + t + 1) : seq;
  const T* query = static_cast<const T*>(a.query);
  for (int64_t c = threadIdx.x; c < a.head_dim; c += blockDim.x) q_row[c] = kivi_load(query, row * a.head_dim + c);
  __syncthreads();

  float* scores = a.scores + row * seq;
  float local_max = -INFINITY;
  for (int64_t r = threadIdx.x; r < visible; r += blockDim.x) {
    float dot = 0.f;
    for (int64_t c = 0; c < a.head_dim; ++c) dot += q_row[c] * kivi_key<T>(a, b, h, r, c);
    dot *= a.scale;
    scores[r] = dot;
    local_max = fmaxf(local_max, dot);
  }
  const float max_score = kivi_block_reduce(local_max, true, scratch);
  float local_sum = 0.f;
  for (int64_t r = threadIdx.x; r < visible; r += blockDim.x) {
    const float p = expf(scores[r] - max_score);
    scores[r] = p;
    local_sum += p;
  }
  const float sum = kivi_block_reduce(local_sum, false, scratch);  // its __syncthreads publish scores[]

  T* out = static_cast<T*>(a.out);
  for (int64_t c = threadIdx.x; c < a.head_dim; c += blockDim.x) {
    float acc = 0.f;
    for (int64_t r = 0; r < visible; ++r) acc += scores[r] * kivi_value<T>(a, b, h, r, c);
    kivi_store(out, row * a.head_dim + c, acc / sum);
  }
}

}  // namespace kernels
}  // namespace kvbench
