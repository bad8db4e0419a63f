// SPDX-License-Identifier: Apache-2.0
// ShadowKV building blocks (../shared/docs/methods.md section 2; reference ByteDance-Seed/ShadowKV
// models/kv_cache.py): prompt chunk layout, low-rank factors of the pre-RoPE keys, chunk landmarks
// with outlier chunks, the GQA softmax-then-max chunk selection, key reconstruction with RoPE, and
// the hit/miss bookkeeping of the sparse buffer. Free functions on tensors so that tests can compare
// each one with a dense reference; methods/shadowkv.cpp composes them into the KV method.
#pragma once

#include "harness/kv/rope.h"

#include <ATen/ATen.h>

#include <cstdint>

namespace kvbench::shadowkv {

// How a prompt of S tokens is split (per layer, identical for every layer and KV head):
//   [ chunk 0 | chunk 1 | ... | chunk C-1 | prefill_local tail tokens ]
// C = floor(S / chunk) - local_chunks (the reference's accuracy class; clamped at 0), the tail
// prefill_local = S - chunk*C (>= local_chunks*chunk, or all of S when C = 0) is kept exactly.
// Of the C chunks, `outliers` = min(outlier_chunks, C) are kept exactly; `selected` =
// min(floor(sparse_tokens / chunk), C - outliers) are chosen per step among the other C - outliers
// ("landmark") chunks. The reference asserts sparse_budget < S and needs C - outliers >= selected;
// kvbench clamps instead, so a short prompt degenerates to attending every chunk (see shadowkv.cpp).
struct ChunkLayout {
  int64_t prompt = 0;         // S
  int64_t chunk = 8;          // tokens per chunk
  int64_t chunks = 0;         // C: context chunks (landmarks + outliers)
  int64_t prefill_local = 0;  // exact tail tokens
  int64_t outliers = 0;       // exact outlier chunks per KV head
  int64_t landmarks = 0;      // C - outliers: chunks represented by a landmark
  int64_t selected = 0;       // chunks selected per KV head per step (the sparse buffer's slots)
};
ChunkLayout chunk_layout(int64_t prompt_tokens, int64_t chunk, int64_t local_chunks, int64_t outlier_chunks,
                         int64_t sparse_tokens);

// Rank-r factors of the pre-RoPE keys of all KV heads concatenated: K [B, S, Hkv*d] ~ U diag(s) Vh.
// u [B, S, r] and sv = diag(s_1..r) Vh_1..r reshaped per head [B, Hkv, r, d], both in `dtype`;
// r = min(rank, S, Hkv*d). Computed in fp32 (the reference uses torch.svd in fp32) by one of:
// - kExact: at::linalg_svd(K, full_matrices=false) (singular vectors' signs may differ from the
//   reference; the product U*SV does not);
// - kGram: eigendecomposition of the [Hkv*d]^2 Gram matrix K^T K (methods.md implementation note 3):
//   V_r, s_r = sqrt(eigenvalues), U = K V_r / s_r. Same product K V_r V_r^T in exact arithmetic,
//   much cheaper for S >> Hkv*d, but squares the condition number (directions with s below
//   ~1e-3 s_1 lose accuracy in fp32; they carry almost none of the keys' energy).
enum class SvdRoute { kExact, kGram };
struct LowRankKeys {
  at::Tensor u;   // [B, S, r]
  at::Tensor sv;  // [B, Hkv, r, d]
  int64_t rank() const { return u.size(2); }
};
LowRankKeys low_rank_keys(const at::Tensor& key_pre_rope /*[B,Hkv,S,d]*/, int64_t rank, at::ScalarType dtype,
                          SvdRoute route = SvdRoute::kExact);

// Landmarks of the C context chunks of post-RoPE keys [B, Hkv, S, d]: mean of each chunk's keys.
// Outliers: per KV head, the `outliers` chunks whose minimum cosine similarity (at::cosine_similarity,
// eps 1e-8) between the chunk mean and its keys is smallest (at::topk largest=false; ties resolved by
// at::topk's order). The remaining chunks keep their landmark, in ascending chunk id order.
struct ChunkSummary {
  at::Tensor outlier_ids;   // [B, Hkv, outliers] int64 chunk ids (topk order)
  at::Tensor landmarks;     // [B, Hkv, C - outliers, d] in the keys' dtype
  at::Tensor landmark_ids;  // [B, Hkv, C - outliers] int64 original chunk ids, ascending
};
ChunkSummary summarize_chunks(const at::Tensor& key_post /*[B,Hkv,S,d]*/, const ChunkLayout& layout);

// Per KV head chunk selection for one query token: scores s[b,h,g,c] = q[b,h*G+g] . L[b,h,c] / sqrt(d)
// (in the landmarks' dtype; the reference divides by sqrt(128), its models' head_dim), softmax over
// c in fp32, cast back to the landmarks' dtype (as the reference does), max over the G query heads
// of the group, then the k best per KV head (harness/kv/ops.h topk_per_head: score descending, ties
// by ascending landmark index = ascending chunk id) mapped through landmark_ids.
// query [B, Hq, 1, d]; returns chunk ids [B, Hkv, k] in ascending landmark order.
at::Tensor select_chunks(const at::Tensor& query, const at::Tensor& landmarks, const at::Tensor& landmark_ids,
                         int64_t k);

// Keys of chunks rebuilt from the low-rank factors and rotated at their original positions
// (harness/kv/ops.h shadowkv_reconstruct_keys; CUDA kernel on CUDA tensors): for chunk ids
// [B, Hkv, m], token t = id*chunk + 0..chunk-1 of KV head h: key = RoPE(u[b, t] @ sv[b, h], t).
// Returns [B, Hkv, m*chunk, d] in sv's dtype. Positions are prompt slots (the prompt is never padded).
at::Tensor reconstruct_keys(const LowRankKeys& factors, const at::Tensor& ids, int64_t chunk, const Rope& rope);

// The sparse buffer's slot update between two steps (the reference's
// reorder_keys_and_compute_offsets): per row (one per batch x KV head), chunks of the new selection
// already resident keep their slot (hits); the other slots take the missing chunks, in ascending slot
// order, in the order the misses appear in the new selection.
// resident [R, k] chunk ids in slot order (each row distinct; -1 = empty slot), wanted [R, k]
// distinct ids in [0, num_chunks). Misses are padded to the row maximum m: miss_ids/miss_slots
// [R, m], miss_valid [R, m] bool.
struct SlotUpdate {
  at::Tensor resident;    // [R, k] chunk ids in slot order after the update
  at::Tensor miss_ids;    // [R, m] chunk ids to fetch (padding: a valid id, masked by miss_valid)
  at::Tensor miss_slots;  // [R, m] slots they go to
  at::Tensor miss_valid;  // [R, m]
  int64_t hits = 0;       // total over rows
  int64_t misses = 0;
};
SlotUpdate update_slots(const at::Tensor& resident, const at::Tensor& wanted, int64_t num_chunks);

}  // namespace kvbench::shadowkv
