// SPDX-License-Identifier: Apache-2.0
// The scoring rules of the eviction methods (snapkv, pyramidkv, h2o, tova), as plain tensor
// functions so each rule is tested against a dense reference on its own: the deterministic top-k
// every method keeps its rows by, SnapKV's observation-window scores and 1-D pooling, and the
// attention probabilities H2O accumulates and TOVA ranks by. Scores are fp32 whatever the compute
// dtype (the references take the softmax in fp32).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace kvbench {

// The k largest entries of each row of scores [..., n], as slot indices [..., k] int64 in increasing
// slot order (the kept rows stay in sequence order). Ties: among equal scores the lower slot wins
// (torch.topk in the references leaves tie order unspecified). k is clamped to [0, n].
at::Tensor top_slots(const at::Tensor& scores, int64_t k);

// SnapKV's observation-window scores. window_queries [B, Hq, w, d]: the last w prompt queries (the
// one at prompt slot S - w + i is row i), keys [B, Hkv, S, d] every prompt key (post-RoPE), S > w,
// Hq a multiple of Hkv. Row i attends keys 0..S-w+i (causal inside the window); the softmax runs
// over those keys (fp32). Returns [B, Hq, S - w] fp32: for each prefix key (slots 0..S-w-1) the
// attention the window's queries give it, summed over the w queries.
at::Tensor snapkv_window_scores(const at::Tensor& window_queries, const at::Tensor& keys, double scale);

enum class SnapPooling { kAvg, kMax };
SnapPooling parse_snap_pooling(const std::string& name);  // "avgpool" | "maxpool"

// 1-D pooling along the last dimension of scores [B, H, n] with stride 1 and kernel_size // 2
// padding on both sides, output [B, H, n] (kernel_size odd). Average: padded positions count as
// zeros and the divisor is always kernel_size (F.avg_pool1d's count_include_pad); max: padded
// positions never win (F.max_pool1d).
at::Tensor snapkv_pool(const at::Tensor& scores, int64_t kernel_size, SnapPooling pooling);

// scores [B, Hq, n] averaged over each KV head's group of Hq / Hkv query heads: [B, Hkv, n].
at::Tensor group_mean(const at::Tensor& scores, int64_t kv_heads);

// Attention probabilities (fp32) of queries [B, Hq, T, d] at slots q_offset..q_offset+T-1 over keys
// [B, Hkv, S, d] at slots 0..S-1 (causal: a query sees slots <= its own), GQA by repetition.
// Returns column sums over the T queries, [B, Hq, S]: what H2O adds to its accumulated scores
// (T = 1: the current query's attention, what TOVA ranks by). The T queries are processed in blocks
// so the probability matrix held at once stays bounded (about 64 Mi fp32 entries).
at::Tensor attention_column_sums(const at::Tensor& queries, const at::Tensor& keys, int64_t q_offset,
                                 double scale);

}  // namespace kvbench
