// SPDX-License-Identifier: Apache-2.0
// The KV methods' hot-path ops: HIGGS landmark scoring, per-KV-head top-k, row gather, ShadowKV key
// reconstruction. Each op has a plain LibTorch reference (`*_reference`, any device) and dispatches
// to a CUDA kernel (harness/kernels/) when the build has CUDA (KVBENCH_WITH_CUDA) and the inputs
// are CUDA tensors; otherwise the op is its reference. Kernel and reference agree exactly for
// topk_per_head and gather_rows and to float rounding for the other two (tests/unit/test_kv_ops_*).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace kvbench {

// --- HIGGS landmark scoring (methods.md 1.5/1.6/1.8/1.12) --------------------------------------
// Landmark rows x in R^C, C = num_kv_heads * head_dim (all KV heads of a token concatenated), padded
// with zeros to C_pad = ceil(C / group) * group and quantized per Hadamard group j of `group` coords:
//   scale_j = ||x_j||_2,  y_j = H_g x_j / scale_j,  codes = nearest grid point per D-dim sub-vector,
//   dequantized  x^_j = H_g (G[codes_j] * scale_j) / g,  cropped to C,
// H_g the unnormalized Sylvester Hadamard (H_1 = [1], H_2k = [[H, H], [H, -H]]), entries
// H[i][j] = (-1)^popcount(i & j).
// Inputs:
//   query  [B, Hkv, Gq, d]   float32 / bfloat16 / float16 (Gq query rows per KV head, e.g. the G
//                            query heads of a GQA group, or 1 for the mean-of-group query)
//   codes  [B, n, C_pad / D] uint8 (index into the grid)
//   scales [B, n, C_pad / g] float32
//   grid   [256, D]          float32 (N = 256 points, so every uint8 code is valid)
// Output: scores [B, Hkv, Gq, n] float32, scores[b,h,q,t] = query[b,h,q,:] . x^_t[h*d : (h+1)*d]
// (raw dot product: no 1/sqrt(d), no softmax).
// Supported: `group` a power of two that is a multiple of D, and either a multiple of head_dim (a
// group holds whole heads: g = d as in the accuracy variant, g = C in the GPU variant) or a divisor
// of head_dim (a head spans d/g whole groups). Anything else is an Error naming the values.
// The kernel never materializes x^: since H_g is symmetric, q . x^_j = (scale_j / g) (H_g q~_j) . G[codes_j]
// with q~_j the query zero-extended to group j's coordinates.
at::Tensor higgs_landmark_scores(const at::Tensor& query, const at::Tensor& codes, const at::Tensor& scales,
                                 const at::Tensor& grid, int64_t group, int64_t num_kv_heads, int64_t head_dim);
at::Tensor higgs_landmark_scores_reference(const at::Tensor& query, const at::Tensor& codes,
                                           const at::Tensor& scales, const at::Tensor& grid, int64_t group,
                                           int64_t num_kv_heads, int64_t head_dim);

// --- Per-KV-head top-k --------------------------------------------------------------------------
// scores [B, H, n] float32 -> indices [B, H, k] int64, for each (b, h) the positions of the k largest
// scores, listed in ascending index order. Order/tie rule (exact, so results compare as sets and as
// tensors): rank positions by (score descending, index ascending) and take the first k; NaN ranks
// above every number, -0.0 equals +0.0. Requires 0 <= k <= n (k > n is an Error).
at::Tensor topk_per_head(const at::Tensor& scores, int64_t k);
at::Tensor topk_per_head_reference(const at::Tensor& scores, int64_t k);

// --- Row gather -------------------------------------------------------------------------------
// out[b, h, i, :] = src[b, h, index[b, h, i], :] for src [B, H, S, W], index [B, H, k] int64 and a
// preallocated out [B, H, k, W] of src's dtype (any dtype: rows are copied as bytes, so fp8 works, or
// pass a uint8 view). src and out may be strided views (e.g. src = a [B, S, Hkv, d] buffer permuted
// to [B, Hkv, S, d]; out = a slice of a larger buffer) but their last dimension must be contiguous.
// src may be a CUDA tensor or the device_view of host-mapped memory (harness/kv/placement.h); the
// CUDA kernel copies rows with 16-byte vector loads when row bytes, strides and addresses allow
// (narrower otherwise). Index values must lie in [0, S): the reference throws otherwise; the kernel
// never reads out of range (such rows are zero-filled) and, when `check_indices` is true, reports
// them as an Error after the copy (one device synchronization; pass false on hot paths).
// Returns the bytes read from src (= out's row bytes), for accounting.
int64_t gather_rows(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out,
                    bool check_indices = true);
int64_t gather_rows_reference(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out);

// --- ShadowKV key reconstruction (methods.md 2.3 step 6, 2.4 `batch_gather_gemm`) --------------------
// keys[b, h, i, :] = RoPE(U[b, p, :] @ SV[b, h], p) with p = positions[b, h, i], where
//   U [B, S, r], SV [B, Hkv, r, d] (low-rank factors of the pre-RoPE keys),
//   positions [B, Hkv, n] int64 in [0, S) (token position = rotary position),
//   cos, sin [B, Hkv, n, d] the rotary tables at those positions, in U's dtype: what
//     Rope::cos_sin(positions.view({B, Hkv * n}), U.scalar_type()) returns, viewed as [B, Hkv, n, d].
// RoPE is harness/kv/rope.cpp's rotate-half form: k * cos + rotate_half(k) * sin with
// rotate_half(k) = [-k[d/2:], k[:d/2]]. d must be even. Output [B, Hkv, n, d] in U's dtype (U, SV,
// cos, sin share one dtype: float32, bfloat16 or float16). The reference computes in that dtype with
// ATen ops (like the Python original); the kernel accumulates in float32 and rounds once.
// Out-of-range positions: the reference throws; the kernel zero-fills the row and, with
// `check_positions`, throws after the launch (one synchronization).
at::Tensor shadowkv_reconstruct_keys(const at::Tensor& u, const at::Tensor& sv, const at::Tensor& positions,
                                     const at::Tensor& cos, const at::Tensor& sin, bool check_positions = true);
at::Tensor shadowkv_reconstruct_keys_reference(const at::Tensor& u, const at::Tensor& sv,
                                               const at::Tensor& positions, const at::Tensor& cos,
                                               const at::Tensor& sin);

// True when this build has the CUDA kernels (KVBENCH_WITH_CUDA).
bool kv_ops_have_cuda_kernels();

}  // namespace kvbench
