// SPDX-License-Identifier: Apache-2.0
// InfiniGen's decode-time speculation (reference snu-comparch/InfiniGen accuracy/src/
// modeling_llama_ours.py and the study's Llama-3 port, yandex-research/context-intensive-kv-offloading
// shadowkv-models/shadowkv_models/llama_infinigen.py; ../shared/docs/methods.md sections 3.2-3.3):
// partial queries and keys in the skewed partial channels, speculative scores, and the per-head
// choice of the rows to fetch. Shapes: B sequences, Hq query heads, Hkv KV heads, S slots, d
// head_dim, w the layer's partial width (infinigen_calibration.h LayerSkew).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace kvbench::infinigen {

// Post-RoPE rows in the partial channels. query [B, Hq, T, d] -> [B, Hq, T, w];
// key [B, Hkv, T, d] -> [B, Hq, T, w] (query head h takes KV head h / (Hq / Hkv), as the port's
// repeat_kv). partial_skew [Hq, d, w]. Computed in the inputs' dtype, like the port.
at::Tensor partial_query(const at::Tensor& query, const at::Tensor& partial_skew);
at::Tensor partial_keys(const at::Tensor& key, const at::Tensor& partial_skew);

// Speculative scores [B, Hq, S] fp32: scale * q'_h . k'_{h,s}, -inf where valid [B, S] is false
// (undefined: every slot valid). partial_query [B, Hq, 1, w], partial_keys [B, Hq, S, w]. Equals
// the port's (q A masked)(K A)^T / sqrt(d): the masked channels contribute zero.
at::Tensor speculative_scores(const at::Tensor& partial_query, const at::Tensor& partial_keys,
                              const at::Tensor& valid, double scale);

// Rows one sequence fetches per head: floor(budget * n) for its n valid slots (the port's
// int(src_len * budget); at least 1, at most n), capped by InfiniGen's alpha rule: the mean over
// heads of #{s : score_h(s) >= max_h - alpha}, truncated (each head's own maximum, as the paper
// describes; the original code compares with head 0's maximum; the study's port has no alpha
// rule, which alpha 99 reproduces whenever a head's valid scores span less than 99).
// scores [Hq, S] fp32 of one sequence (invalid slots -inf).
int64_t fetch_count(const at::Tensor& scores, int64_t valid_slots, double budget, double alpha);

struct Selection {
  at::Tensor slots;                  // [B, Hq, k] int64, per head ascending; k = max of counts
  at::Tensor key_valid;              // [B, k] bool: false past sequence b's count (undefined when all equal)
  std::vector<int64_t> counts;       // B rows fetched per head (fetch_count)
};

// Per sequence and head the fetch_count highest-scoring slots (topk_per_head's rule: ties go to
// the lower slot), listed ascending. scores [B, Hq, S] fp32; valid_slots: B counts. A shorter
// sequence's padding entries repeat its head's first slot and are marked invalid in key_valid.
Selection select_tokens(const at::Tensor& scores, const std::vector<int64_t>& valid_slots, double budget,
                        double alpha);

}  // namespace kvbench::infinigen
