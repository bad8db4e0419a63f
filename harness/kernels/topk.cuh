// SPDX-License-Identifier: Apache-2.0
// Per-row top-k by radix select, one block per row (methods.md 1.12 "radix-select"):
//   1. scores map to order-preserving 32-bit keys (NaN -> the largest key, -0 -> +0);
//   2. four 8-bit passes (most significant first) narrow down the key T of the k-th largest
//      element and `need_eq`, how many elements equal to T belong to the top k;
//   3. one ordered pass with block-wide prefix sums writes, in ascending position order, every
//      element with key > T and the first `need_eq` elements with key == T.
// So the selection is exactly "rank by (score desc, index asc), take k", listed by ascending index.
// Raw pointers only (no torch headers); arguments: topk.h.
#pragma once

#include "harness/kernels/topk.h"

#include <cstdint>

namespace kvbench {
namespace kernels {

__device__ __forceinline__ uint32_t topk_order_key(float x) {
  if (x != x) return 0xffffffffu;  // NaN ranks above every number
  if (x == 0.f) x = 0.f;           // -0 ranks as +0
  const uint32_t bits = __float_as_uint(x);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// Exclusive prefix sum of `value` over the block (kThreads threads, a multiple of 32, at most 1024);
// `*total` receives the block sum. `warp_sums` is shared scratch of kThreads / 32 + 1 ints. Every
// thread of the block must call it (it synchronizes).
template <int kThreads>
__device__ int block_exclusive_scan(int value, int* total, int* warp_sums) {
  constexpr int kWarps = kThreads / 32;
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  int inclusive = value;
  for (int offset = 1; offset < 32; offset <<= 1) {
    const int other = __shfl_up_sync(0xffffffffu, inclusive, offset);
    if (lane >= offset) inclusive += other;
  }
  if (lane == 31) warp_sums[warp] = inclusive;
  __syncthreads();
  if (warp == 0) {
    const int own = lane < kWarps ? warp_sums[lane] : 0;
    int running = own;
    for (int offset = 1; offset < 32; offset <<= 1) {
      const int other = __shfl_up_sync(0xffffffffu, running, offset);
      if (lane >= offset) running += other;
    }
    if (lane < kWarps) warp_sums[lane] = running - own;  // exclusive offset of each warp
    if (lane == 31) warp_sums[kWarps] = running;         // block total
  }
  __syncthreads();
  const int result = warp_sums[warp] + inclusive - value;
  *total = warp_sums[kWarps];
  __syncthreads();  // warp_sums is reused by the next call
  return result;
}

template <int kThreads>
__global__ void topk_rows_kernel(TopkArgs a) {
  __shared__ unsigned int hist[256];
  __shared__ int warp_sums[kThreads / 32 + 1];
  __shared__ uint32_t s_prefix, s_mask;
  __shared__ int64_t s_remaining;
  const float* row = a.scores + static_cast<int64_t>(blockIdx.x) * a.n;
  int64_t* out = a.indices + static_cast<int64_t>(blockIdx.x) * a.k;
  if (threadIdx.x == 0) {
    s_prefix = 0;
    s_mask = 0;
    s_remaining = a.k;
  }
  // Invariant before each pass: at least s_remaining (>= 1) elements have (key & s_mask) == s_prefix,
  // and the elements above that prefix number k - s_remaining.
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += kThreads) hist[i] = 0;
    __syncthreads();
    const uint32_t prefix = s_prefix;
    const uint32_t mask = s_mask;
    for (int64_t i = threadIdx.x; i < a.n; i += kThreads) {
      const uint32_t key = topk_order_key(row[i]);
      if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 0xffu], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      const int64_t remaining = s_remaining;
      int64_t above = 0;
      int digit = 255;
      for (; digit > 0; --digit) {
        if (above + hist[digit] >= remaining) break;
        above += hist[digit];
      }
      s_remaining = remaining - above;
      s_prefix = prefix | (static_cast<uint32_t>(digit) << shift);
      s_mask = mask | (0xffu << shift);
    }
    __syncthreads();
  }
  const uint32_t threshold = s_prefix;
  const int64_t need_eq = s_remaining;
  int64_t written = 0, eq_seen = 0;  // identical in every thread
  for (int64_t base = 0; base < a.n && written < a.k; base += kThreads) {
    const int64_t i = base + threadIdx.x;
    const uint32_t key = i < a.n ? topk_order_key(row[i]) : 0u;
    const int is_gt = (i < a.n && key > threshold) ? 1 : 0;
    const int is_eq = (i < a.n && key == threshold) ? 1 : 0;
    int eq_total = 0;
    const int eq_before = block_exclusive_scan<kThreads>(is_eq, &eq_total, warp_sums);
    const int take = (is_gt || (is_eq && eq_seen + eq_before < need_eq)) ? 1 : 0;
    int take_total = 0;
    const int take_before = block_exclusive_scan<kThreads>(take, &take_total, warp_sums);
    if (take && written + take_before < a.k) out[written + take_before] = i;
    written += take_total;
    eq_seen += eq_total;
  }
}

}  // namespace kernels
}  // namespace kvbench
