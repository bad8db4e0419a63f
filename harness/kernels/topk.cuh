// SPDX-License-Identifier: Apache-2.0
// Per-row top-k by radix select, one block per row (methods.md 1.12 "radix-select"):
//   1. scores map to order-preserving 32-bit keys (NaN -> the largest key, -0 -> +0);
//   2. up to four 8-bit passes (most significant first) narrow down the key prefix T (under a mask
//      M of the digits decided so far) of the k-th largest element and `need_eq`, how many of the
//      elements with key & M == T belong to the top k; they stop early when all of them do;
//   3. one ordered pass with block-wide prefix sums writes, in ascending position order, every
//      element with key & M > T and the first `need_eq` elements with key & M == T.
// So the selection is exactly "rank by (score desc, index asc), take k", listed by ascending index.
// Raw pointers only (no torch headers); arguments: topk.h.
#pragma once

#include "harness/kernels/kernel_math.h"
#include "harness/kernels/topk.h"

#include <cstdint>

namespace kvbench {
namespace kernels {

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

template <int kThreads, int kPerThread>
__global__ void __launch_bounds__(kThreads) topk_rows_kernel(TopkArgs a) {
  __shared__ unsigned int hist[256];
  __shared__ int warp_sums[kThreads / 32 + 1];
  __shared__ uint32_t s_prefix, s_mask;
  __shared__ int64_t s_remaining;
  __shared__ bool s_done;
  const float* row = a.scores + static_cast<int64_t>(blockIdx.x) * a.n;
  int64_t* out = a.indices + static_cast<int64_t>(blockIdx.x) * a.k;
  const int lane = threadIdx.x % 32;
  if (threadIdx.x == 0) {
    s_prefix = 0;
    s_mask = 0;
    s_remaining = a.k;
  }
  // Invariant before each pass: at least s_remaining (>= 1) elements have (key & s_mask) == s_prefix
  // (the candidates), and the elements whose masked key is larger number k - s_remaining.
  // The passes stop early once every candidate is in the top k (s_remaining == their count).
  bool done = false;
  for (int shift = 24; shift >= 0 && !done; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += kThreads) hist[i] = 0;
    __syncthreads();
    const uint32_t prefix = s_prefix;
    const uint32_t mask = s_mask;
    // Every thread runs the same number of iterations, so all lanes take part in __match_any_sync;
    // lanes with the same digit add their count once (few distinct digits would serialize atomics).
    for (int64_t base = 0; base < a.n; base += kThreads) {
      const int64_t i = base + threadIdx.x;
      unsigned int digit = 256u;  // not a candidate
      if (i < a.n) {
        const uint32_t key = topk_order_key(row[i]);
        if ((key & mask) == prefix) digit = (key >> shift) & 0xffu;
      }
      const unsigned int peers = __match_any_sync(0xffffffffu, digit);
      if (digit != 256u && lane == __ffs(peers) - 1) atomicAdd(&hist[digit], static_cast<unsigned int>(__popc(peers)));
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      const int64_t remaining = s_remaining;
      int64_t above = 0;
      const int digit = topk_pick_digit(hist, remaining, &above);
      s_remaining = remaining - above;
      s_prefix = prefix | (static_cast<uint32_t>(digit) << shift);
      s_mask = mask | (0xffu << shift);
      s_done = hist[digit] == static_cast<unsigned int>(remaining - above);
    }
    __syncthreads();
    done = s_done;
  }
  const uint32_t mask = s_mask;
  const uint32_t threshold = s_prefix;
  const int64_t need_eq = s_remaining;
  // Ordered selection, tiles of kThreads * kPerThread elements; thread t owns the run of kPerThread
  // consecutive elements starting at tile + t * kPerThread. Two block scans per tile: equal-to-
  // threshold counts (for the tie rank), then selected counts (for the output slots).
  int64_t written = 0, eq_seen = 0;  // identical in every thread
  for (int64_t tile = 0; tile < a.n && written < a.k; tile += static_cast<int64_t>(kThreads) * kPerThread) {
    const int64_t first = tile + static_cast<int64_t>(threadIdx.x) * kPerThread;
    uint32_t keys[kPerThread];
    int eq_count = 0;
#pragma unroll
    for (int e = 0; e < kPerThread; ++e) {
      keys[e] = first + e < a.n ? topk_order_key(row[first + e]) : 0u;
      if (first + e < a.n && (keys[e] & mask) == threshold) ++eq_count;
    }
    int eq_total = 0;
    const int eq_before = block_exclusive_scan<kThreads>(eq_count, &eq_total, warp_sums);
    int take_count = 0;
    int64_t eq_rank = eq_seen + eq_before;
#pragma unroll
    for (int e = 0; e < kPerThread; ++e) {
      if (first + e >= a.n) continue;
      if (topk_take(keys[e], mask, threshold, eq_rank, need_eq)) ++take_count;
      if ((keys[e] & mask) == threshold) ++eq_rank;
    }
    int take_total = 0;
    const int take_before = block_exclusive_scan<kThreads>(take_count, &take_total, warp_sums);
    int64_t slot = written + take_before;
    eq_rank = eq_seen + eq_before;
#pragma unroll
    for (int e = 0; e < kPerThread; ++e) {
      if (first + e >= a.n) continue;
      if (topk_take(keys[e], mask, threshold, eq_rank, need_eq) && slot < a.k) out[slot++] = first + e;
      if ((keys[e] & mask) == threshold) ++eq_rank;
    }
    written += take_total;
    eq_seen += eq_total;
  }
}

}  // namespace kernels
}  // namespace kvbench
