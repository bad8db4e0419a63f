// SPDX-License-Identifier: Apache-2.0
// The per-element index math and arithmetic of the KV kernels, as __host__ __device__ functions: the
// kernels (*.cuh) call them on the GPU, and tests/unit/test_kv_kernels_emulated.cpp calls the same
// functions on the CPU (emulating the kernels' thread loops), so CPU-only CI checks the exact code
// the GPU runs against the LibTorch references. No torch or CUDA headers: plain C++ outside nvcc, so
// the emulation test builds and runs on machines without the CUDA toolkit.
#pragma once

#include "harness/kernels/gather_rows_args.h"
#include "harness/kernels/host_device.h"
#include "harness/kernels/landmark_scores_args.h"
#include "harness/kernels/reconstruct_keys_args.h"

#include <cstdint>
#include <cstring>

namespace kvbench {
namespace kernels {

KVBENCH_HD int popcount64(uint64_t v) {
#if defined(__CUDA_ARCH__)
  return __popcll(v);
#else
  return __builtin_popcountll(v);
#endif
}

KVBENCH_HD uint32_t float_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
#endif
}

// --- landmark scores ------------------------------------------------------------------------------

// Length of a head's Hadamard-transformed query: the group (g >= d) or the head's d / g groups.
KVBENCH_HD int64_t landmark_width(const LandmarkScoresArgs& a) { return a.group > a.head_dim ? a.group : a.head_dim; }

// qt at flat index idx of [B, Hkv, Gq, W]. With j0 = (h * d) / g the head's first group, coordinate
// w lies in group j = j0 + w / g at in-group index i = w % g, and
//   qt[w] = sum over head channels p whose global channel c = h * d + p lies in group j of
//           H_g[i][c % g] * query[b, h, q, p],   H_g[i][m] = (-1)^popcount(i & m)
// (g >= d: the head lies in one group, w / g == 0; g < d: it spans d / g groups of g channels).
KVBENCH_HD float hadamard_query_value(const LandmarkScoresArgs& a, int64_t idx) {
  const int64_t width = landmark_width(a);
  const int64_t w = idx % width;
  const int64_t row = idx / width;  // (b * Hkv + h) * Gq + q
  const int64_t h = (row / a.q_rows) % a.num_kv_heads;
  const float* q = a.query + row * a.head_dim;
  const int64_t j = (h * a.head_dim) / a.group + w / a.group;
  const int64_t i = w % a.group;
  float acc = 0.f;
  for (int64_t p = 0; p < a.head_dim; ++p) {
    const int64_t c = h * a.head_dim + p;
    if (c / a.group != j) continue;
    const bool negative = popcount64(static_cast<uint64_t>(i & (c % a.group))) & 1;
    acc += negative ? -q[p] : q[p];
  }
  return acc;
}

// Sum over the entries e = first, first + step, ... < W / D of head h's groups of
//   scale[j(e)] * (qt[e*D : e*D + D] . grid[code(e)])
// for landmark t of batch b and query row q; `grid` holds [256, D] floats (shared memory on the GPU).
// Entry e is code byte j0 * g / D + e, in group j0 + e * D / g. The score is the sum over all
// entries divided by g.
KVBENCH_HD float landmark_partial_score(const LandmarkScoresArgs& a, const float* grid, int64_t b, int64_t t,
                                        int64_t h, int64_t q, int64_t first, int64_t step) {
  const int64_t width = landmark_width(a);
  const int64_t entries = width / a.grid_dim;
  const int64_t j0 = (h * a.head_dim) / a.group;
  const int64_t first_code = j0 * a.group / a.grid_dim;
  const uint8_t* code_row = a.codes + (b * a.n + t) * a.codes_per_row;
  const float* scale_row = a.scales + (b * a.n + t) * a.groups_per_row;
  const float* qt = a.query_hadamard + ((b * a.num_kv_heads + h) * a.q_rows + q) * width;
  float acc = 0.f;
  for (int64_t e = first; e < entries; e += step) {
    const float* point = grid + static_cast<int64_t>(code_row[first_code + e]) * a.grid_dim;
    const float* qp = qt + e * a.grid_dim;
    float dot = 0.f;
    for (int64_t m = 0; m < a.grid_dim; ++m) dot += qp[m] * point[m];
    acc += scale_row[j0 + (e * a.grid_dim) / a.group] * dot;
  }
  return acc;
}

// Flat index of scores[b, h, q, t] in [B, Hkv, Gq, n].
KVBENCH_HD int64_t landmark_score_index(const LandmarkScoresArgs& a, int64_t b, int64_t h, int64_t q, int64_t t) {
  return ((b * a.num_kv_heads + h) * a.q_rows + q) * a.n + t;
}

// --- top-k ----------------------------------------------------------------------------------------

// Order-preserving key: NaN above every number, -0 == +0, otherwise the float order.
KVBENCH_HD uint32_t topk_order_key(float x) {
  if (x != x) return 0xffffffffu;
  if (x == 0.f) x = 0.f;
  const uint32_t bits = float_bits(x);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// One radix step: `hist` counts the candidates (keys matching the prefix so far) by their next 8-bit
// digit, `remaining` (>= 1, <= the candidates) how many of the top k are still among them. Returns
// the digit of the k-th largest key and sets *above to the candidates with a larger digit (all of
// which are in the top k); the new `remaining` is remaining - *above.
KVBENCH_HD int topk_pick_digit(const unsigned int* hist, int64_t remaining, int64_t* above) {
  int64_t larger = 0;
  int digit = 255;
  for (; digit > 0; --digit) {
    if (larger + hist[digit] >= remaining) break;
    larger += hist[digit];
  }
  *above = larger;
  return digit;
}

// Whether the element with `key` is selected, comparing the digits decided so far (`mask`): its
// masked key above the threshold prefix, or equal to it and among the first `need_eq` such elements
// in index order (`eq_rank` = equal elements before it).
KVBENCH_HD bool topk_take(uint32_t key, uint32_t mask, uint32_t threshold, int64_t eq_rank, int64_t need_eq) {
  const uint32_t masked = key & mask;
  return masked > threshold || (masked == threshold && eq_rank < need_eq);
}

// --- gather ---------------------------------------------------------------------------------------

// Copy unit `idx` of the flattened [B, H, k, row_bytes / unit_bytes] destination: sets *src (nullptr
// when the row's index is out of range) and *dst to the unit's byte addresses.
KVBENCH_HD void gather_unit_address(const GatherRowsArgs& a, int64_t unit_bytes, int64_t idx, const char** src,
                                    char** dst) {
  const int64_t units = a.row_bytes / unit_bytes;
  const int64_t unit = idx % units;
  const int64_t row = idx / units;  // (b * H + h) * k + i
  const int64_t i = row % a.k;
  const int64_t h = (row / a.k) % a.heads;
  const int64_t b = row / (a.k * a.heads);
  const int64_t s = a.index[row];
  *src = (s >= 0 && s < a.src_rows) ? static_cast<const char*>(a.src) + b * a.src_stride_b + h * a.src_stride_h +
                                          s * a.src_stride_s + unit * unit_bytes
                                    : nullptr;
  *dst = static_cast<char*>(a.out) + b * a.out_stride_b + h * a.out_stride_h + i * a.out_stride_k + unit * unit_bytes;
}

// --- key reconstruction ---------------------------------------------------------------------------

// Rotate-half RoPE of the channel pair (j, j + d/2) of one key, k_lo = k[j], k_hi = k[j + d/2]:
//   out[j]       = k[j] * cos[j]             - k[j + d/2] * sin[j]
//   out[j + d/2] = k[j + d/2] * cos[j + d/2] + k[j] * sin[j + d/2]
KVBENCH_HD void rope_pair(float k_lo, float k_hi, float cos_lo, float sin_lo, float cos_hi, float sin_hi, float* out_lo,
                          float* out_hi) {
  *out_lo = k_lo * cos_lo - k_hi * sin_lo;
  *out_hi = k_hi * cos_hi + k_lo * sin_hi;
}

// Row (b, h, i) of positions / cos / sin / keys in [B, Hkv, n, ...].
KVBENCH_HD int64_t reconstruct_row(const ReconstructKeysArgs& a, int64_t b, int64_t h, int64_t i) {
  return (b * a.heads + h) * a.n + i;
}

// Source position of a row, or -1 when out of [0, S).
KVBENCH_HD int64_t reconstruct_position(const ReconstructKeysArgs& a, int64_t row) {
  const int64_t pos = a.positions[row];
  return (pos >= 0 && pos < a.seq) ? pos : -1;
}

}  // namespace kernels
}  // namespace kvbench
