// SPDX-License-Identifier: Apache-2.0
// Analytic persistent-GPU-byte formulas of ../shared/docs/methods.md section 1.9, for tests that compare a
// method's measured KVMemory with what its layout should take. Header-only integer arithmetic.
// Notation: L layers, B sequences, Hkv KV heads, d head_dim, S token slots, e bytes per element.
// The per-token-layer figures for Llama-3.1-8B (Hkv 8, d 128, bf16) in section 1.9 are: full
// 4096 B, ShadowKV U + landmarks 320 + 256 B (+ ids), YAKV-GPU 2-bit landmarks 256 + 2 B scale.
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
