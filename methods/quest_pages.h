// SPDX-License-Identifier: Apache-2.0
// Quest's page rule (Tang et al., ICML 2024; reference: mit-han-lab/Quest evaluation/
// quest_attention.py and quest/models + quest/utils): per-page element-wise min/max digests of
// post-RoPE keys, the per-query-head upper bound of q.k over a page, top-k page selection, and exact
// attention restricted to the selected pages. Pages are aligned to slot 0: page p holds slots
// [p*page_size, (p+1)*page_size); only the last page may be partial.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace kvbench {

// keys [B, H, S, d] -> digests [B, H, ceil(S / page_size), 2d] in keys' dtype: channels [0, d) the
// element-wise max and [d, 2d) the element-wise min over the rows of each page (the partial last page
// over its real rows). One tensor, so scoring is a single matmul.
at::Tensor quest_page_digests(const at::Tensor& keys, int64_t page_size);

// Folds key [B, H, 1, d] at `slot` into digests [B, H, pages, 2d] (the first row of a page sets it).
void quest_update_digest(at::Tensor& digests, const at::Tensor& key, int64_t slot, int64_t page_size);

// Upper bound of q.k over each page, per query head: score[b, h, p] = sum_j max(q_j * max_j, q_j *
// min_j) (= q+ . max + q- . min with q+ = max(q, 0), q- = min(q, 0)), computed in fp32.
// q [B, Hq, d]; digests [B, Hkv, P, 2d] with Hq a multiple of Hkv (query head h reads KV head
// h / (Hq / Hkv)). Returns [B, Hq, P] fp32.
at::Tensor quest_page_scores(const at::Tensor& q, const at::Tensor& digests);

// The k pages each query head attends, from scores [B, Hq, P] (k <= P): the k highest scores;
// with keep_last, page P-1 (the page being filled, holding the current token) plus the k-1 highest
// of pages 0..P-2. Ties: a stable descending sort, so among equal scores the lower page index wins.
// Returns [B, Hq, k] int64, ascending page indices.
at::Tensor quest_select_pages(const at::Tensor& scores, int64_t k, bool keep_last);

// Exact attention of one query per head over the selected pages. q [B, Hq, 1, d]; keys, values
// [B, Hkv, S, d] (slots 0..S-1; the last page may be partial); pages [B, Hq, k] int64 < ceil(S /
// page_size). Gathers the k * page_size rows of each query head (rows past S masked out) and returns
// [B, Hq, 1, d] in q's dtype. `gathered_bytes` (if given) receives the bytes of the gathered K/V.
at::Tensor quest_attend_pages(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                              const at::Tensor& pages, int64_t page_size, double scale,
                              int64_t* gathered_bytes = nullptr);

}  // namespace kvbench
