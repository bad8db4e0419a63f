// SPDX-License-Identifier: Apache-2.0
// Analytic persistent-GPU-byte formulas of ../shared/docs/methods.md section 1.9, for tests that compare a
// method's measured KVMemory with what its layout should take. Header-only integer arithmetic.
// Notation: L layers, B sequences, Hkv KV heads, d head_dim, S token slots, e bytes per element.
// The per-token-layer figures for Llama-3.1-8B (Hkv 8, d 128, bf16) in section 1.9 are: full
// 4096 B, ShadowKV U + landmarks 320 + 256 B (+ ids), YAKV-GPU 2-bit landmarks 256 + 2 B scale,
// ArkVale page-32 cuboid digests 128 B.
#pragma once

#include "harness/kv/kv_shape.h"

#include <cstdint>

namespace kvbench::kv_formula {

// K and V rows of `tokens` slots, all layers: L * B * Hkv * S * d * 2 * e.
inline int64_t kv_rows_bytes(const KVShape& c, int64_t batch, int64_t tokens, int64_t elem_bytes) {
  return c.num_layers * batch * c.num_kv_heads * tokens * c.head_dim * 2 * elem_bytes;
}

// Full KV per token and layer (one sequence): Hkv * d * 2 * e (4096 B for Llama-3.1-8B bf16).
inline int64_t full_bytes_per_token_layer(int64_t kv_heads, int64_t head_dim, int64_t elem_bytes) {
  return kv_heads * head_dim * 2 * elem_bytes;
}

// "full": K/V of every allocated slot (`slots` = the cache capacity) plus the [B, slots] bool
// validity rows per layer as metadata.
inline int64_t full_cache_kv_bytes(const KVShape& c, int64_t batch, int64_t slots, int64_t elem_bytes) {
  return kv_rows_bytes(c, batch, slots, elem_bytes);
}
inline int64_t full_cache_metadata_bytes(const KVShape& c, int64_t batch, int64_t slots) {
  return c.num_layers * batch * slots;
}

// "streaming_llm": at most sink + recent entries of the `tokens` seen.
inline int64_t streaming_llm_kv_bytes(const KVShape& c, int64_t batch, int64_t tokens, int64_t sink,
                                      int64_t recent, int64_t elem_bytes) {
  const int64_t kept = tokens < sink + recent ? tokens : sink + recent;
  return kv_rows_bytes(c, batch, kept, elem_bytes);
}

// Quest: full KV plus per page of `page` tokens an element-wise min and max key:
// L * B * Hkv * ceil(S / page) * 2 * d * e (256 B per token-layer at page 16, Llama-3.1-8B bf16).
// Digests exist only for the sparse layers (the first `dense_layers` attend densely and keep none).
inline int64_t quest_metadata_bytes(const KVShape& c, int64_t batch, int64_t tokens, int64_t page,
                                    int64_t elem_bytes, int64_t dense_layers = 0) {
  const int64_t pages = (tokens + page - 1) / page;
  return (c.num_layers - dense_layers) * batch * c.num_kv_heads * pages * 2 * c.head_dim * elem_bytes;
}

// ShadowKV per token and layer: the low-rank factor row U (rank * e) plus the chunk landmarks
// (Hkv * d * e / chunk); chunk ids and fixed buffers (SV, outliers, local, generated) come on top.
inline int64_t shadowkv_bytes_per_token_layer(int64_t kv_heads, int64_t head_dim, int64_t rank, int64_t chunk,
                                              int64_t elem_bytes) {
  return rank * elem_bytes + kv_heads * head_dim * elem_bytes / chunk;
}
// ShadowKV fixed per layer: SV = [rank, Hkv * d] in e bytes.
inline int64_t shadowkv_sv_bytes_per_layer(int64_t kv_heads, int64_t head_dim, int64_t rank, int64_t elem_bytes) {
  return rank * kv_heads * head_dim * elem_bytes;
}

// YAKV landmarks per token and layer: Hkv * d * bits / 8 packed codes plus the scale bytes
// (258 B for the GPU variant's 2-bit landmarks with one bf16 scale, Llama-3.1-8B).
inline int64_t yakv_landmark_bytes_per_token_layer(int64_t kv_heads, int64_t head_dim, int64_t bits,
                                                   int64_t scale_bytes) {
  return kv_heads * head_dim * bits / 8 + scale_bytes;
}

// KIVI (methods/kivi.cpp) after the prompt with `tokens` cached per sequence, both sides quantized
// (bits 2, 4 or 8), residual R, group g: per layer, sequence and KV head
//   keys:   q_k = floor(tokens / R) * R quantized rows: q_k * d * key_bits / 8 packed code bytes
//           + 2 * (q_k / g) * d * e scale and zero bytes, + the residual's capacity R * d * e;
//   values: q_v = max(0, tokens - R) quantized rows: q_v * d * value_bits / 8 code bytes
//           + 2 * q_v * (d / g) * e scale and zero bytes, + the residual's capacity (R + 1) * d * e.
// Asymptotically Hkv * d * ((key_bits + value_bits) / 8 + 4 e / g) per token and layer: 768 B for
// Llama-3.1-8B at 2 bits, g 32, bf16 (full: 4096 B).
inline int64_t kivi_kv_bytes(const KVShape& c, int64_t batch, int64_t tokens, int64_t group, int64_t residual,
                             int64_t key_bits, int64_t value_bits, int64_t elem_bytes) {
  const int64_t d = c.head_dim;
  const int64_t q_k = tokens / residual * residual;
  const int64_t q_v = tokens > residual ? tokens - residual : 0;
  const int64_t keys = q_k * d * key_bits / 8 + 2 * (q_k / group) * d * elem_bytes + residual * d * elem_bytes;
  const int64_t values =
      q_v * d * value_bits / 8 + 2 * q_v * (d / group) * elem_bytes + (residual + 1) * d * elem_bytes;
  return c.num_layers * batch * c.num_kv_heads * (keys + values);
}

// ArkVale (methods/arkvale.cpp), per sparse layer whose prompt of S tokens spans P = ceil(S / page)
// pages, more than its C-page device cache (a layer whose prompt fits keeps it like "full");
// G ranking groups per sequence (1, or Hkv with ranking kv_head).
// Host: every prompt page's K and V (the last page zero-padded) plus the int64 slot -> page table:
//   2 * B * Hkv * P * page * d * e + B * G * C * 8.
inline int64_t arkvale_host_bytes_per_layer(const KVShape& c, int64_t batch, int64_t pages, int64_t page,
                                            int64_t groups, int64_t cache_pages, int64_t elem_bytes) {
  return 2 * batch * c.num_kv_heads * pages * page * c.head_dim * elem_bytes + batch * groups * cache_pages * 8;
}
// Device metadata: the cuboid digests (upper and lower corner) of the P - 1 full pages,
// B * Hkv * (P - 1) * 2d * e; per token and layer Hkv * 2d * e / page (128 B at page 32 for
// Llama-3.1-8B bf16, methods.md 1.9).
inline int64_t arkvale_digest_bytes_per_layer(const KVShape& c, int64_t batch, int64_t pages, int64_t elem_bytes) {
  return batch * c.num_kv_heads * (pages - 1) * 2 * c.head_dim * elem_bytes;
}
// Device K/V rows of the page cache before any generated token: C - 1 full slots plus the prompt's
// last page (S - (P - 1) * page rows); the generated tokens follow (never offloaded).
inline int64_t arkvale_cache_rows(int64_t prompt, int64_t page, int64_t cache_pages) {
  const int64_t pages = (prompt + page - 1) / page;
  return (cache_pages - 1) * page + prompt - (pages - 1) * page;
}
// Host -> device bytes of one recalled page of one ranking group: K and V of the group's
// Hkv / G heads, 2 * (Hkv / G) * page * d * e. A decode step recalls at most k pages per group and
// sparse layer: its bytes are (pages recalled) times this.
inline int64_t arkvale_recall_bytes_per_page(const KVShape& c, int64_t groups, int64_t page, int64_t elem_bytes) {
  return 2 * (c.num_kv_heads / groups) * page * c.head_dim * elem_bytes;
}

}  // namespace kvbench::kv_formula

namespace kvbench::kv_formula {

// LRQK (methods/lrqk.cpp), per query head: Hq = c.num_heads. Once a layer is fitted:
// - device K/V: the working set [B, Hq, active + lite, d] of keys and values per layer;
inline int64_t lrqk_working_set_bytes(const KVShape& c, int64_t batch, int64_t active, int64_t lite,
                                      int64_t elem_bytes) {
  return c.num_layers * batch * c.num_heads * (active + lite) * c.head_dim * 2 * elem_bytes;
}
// - device metadata: A_K [B, Hq, slots, r] (`slots` = its allocated rows), B_Q and B_K
//   [B, Hq, r, d], and the int64 token table of the active slots [B, Hq, active];
//   A_K alone is Hq * r * e per token and layer (2048 B for Llama-3.1-8B, Hq 32, r 32, bf16:
//   methods.md 1.9);
inline int64_t lrqk_a_k_bytes_per_token_layer(int64_t query_heads, int64_t rank, int64_t elem_bytes) {
  return query_heads * rank * elem_bytes;
}
inline int64_t lrqk_metadata_bytes(const KVShape& c, int64_t batch, int64_t slots, int64_t rank, int64_t active,
                                   int64_t elem_bytes) {
  return c.num_layers * batch * c.num_heads *
         (slots * rank * elem_bytes + 2 * rank * c.head_dim * elem_bytes + active * 8);
}
// - host: every token's K/V rows per KV head, kv_rows_bytes(c, batch, slots, e) for the host
//   store's allocated slots;
// - host -> device per decode step: one K and one V row of d elements per missed (query head, token).
inline int64_t lrqk_fetch_bytes(int64_t misses, int64_t head_dim, int64_t elem_bytes) {
  return misses * head_dim * 2 * elem_bytes;
}

// InfiniGen (methods/infinigen.cpp), `slots` = the stores' capacity (prompt + max new tokens),
// D = dense layers, W = the sum over the sparse layers of their partial width w_l (Hq heads):
//   host: the sparse layers' K/V, (L - D) * B * Hkv * slots * d * 2 * e;
//   device K/V: the dense layers', D * B * Hkv * slots * d * 2 * e;
//   device metadata: validity rows of every layer (L * B * slots bytes), the partial key caches
//     B * Hq * slots * W * e and the partial skews Hq * d * W * e;
//   host-to-device per decode step: `selected` rows of K and V per query head and sparse layer,
//     (L - D) * B * Hq * selected * d * 2 * e (rows are fetched per query head, as the port selects).
inline int64_t infinigen_host_bytes(const KVShape& c, int64_t batch, int64_t slots, int64_t dense_layers,
                                    int64_t elem_bytes) {
  return (c.num_layers - dense_layers) * batch * c.num_kv_heads * slots * c.head_dim * 2 * elem_bytes;
}
inline int64_t infinigen_kv_device_bytes(const KVShape& c, int64_t batch, int64_t slots, int64_t dense_layers,
                                         int64_t elem_bytes) {
  return dense_layers * batch * c.num_kv_heads * slots * c.head_dim * 2 * elem_bytes;
}
inline int64_t infinigen_metadata_device_bytes(const KVShape& c, int64_t batch, int64_t slots,
                                               int64_t partial_width_sum, int64_t elem_bytes) {
  return c.num_layers * batch * slots + batch * c.num_heads * slots * partial_width_sum * elem_bytes +
         c.num_heads * c.head_dim * partial_width_sum * elem_bytes;
}
inline int64_t infinigen_step_host_to_device_bytes(const KVShape& c, int64_t batch, int64_t selected,
                                                   int64_t dense_layers, int64_t elem_bytes) {
  return (c.num_layers - dense_layers) * batch * c.num_heads * selected * c.head_dim * 2 * elem_bytes;
}

}  // namespace kvbench::kv_formula
