// SPDX-License-Identifier: Apache-2.0
// ArkVale's page rule (Chen et al., NeurIPS 2024; reference pku-liang/ArkVale @ 0c3b45e
// source/arkvale/infer_state.py, source/arkvale_cpp/src/estimate.cu and select.cu): page digests
// (a bounding cuboid of the page's keys, or its "mean" variant), the upper-bound page score averaged
// over query heads, the top-k page ranking, and the page table of a fixed device page cache (which
// page sits in which slot; what one step recalls and evicts). Free functions and a small host-side
// table so tests can compare each one with a dense reference and with the Python port
// (scripts/reference/arkvale_reference.py); methods/arkvale.cpp composes them into the KV method.
// Pages are aligned to slot 0: page p holds prompt tokens [p * page_size, (p + 1) * page_size).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kvbench::arkvale {

enum class DigestKind {
  kCuboid,      // element-wise max / min of the page's keys (the plain bounding cuboid)
  kCuboidMean,  // infer_state.py _summarize_keys: center c = (max + min) / 2, radius r = mean_i |c - k_i|,
                // corners c + r and c - r (the variant the paper finds best and the reference uses)
};
DigestKind parse_digest_kind(const std::string& name);  // "cuboid" | "cuboid_mean"
const char* digest_kind_name(DigestKind kind);

// keys [B, H, n * page_size, d] (n full pages of post-RoPE keys) -> digests [B, H, n, 2d] in the
// keys' dtype: channels [0, d) the cuboid's upper corner, [d, 2d) its lower corner.
at::Tensor page_digests(const at::Tensor& keys, int64_t page_size, DigestKind kind);

// Upper bound of q.k over each page's cuboid (estimate.cu compute_cuboid_scores), per query head h:
//   s_h[p] = sum_j max(q_hj * upper_pj, q_hj * lower_pj),
// query head h reading KV head h / (Hq / Hkv); then the mean over the Hq / groups consecutive query
// heads of each group (estimate_scores: o.reshape(B, groups, Hq / groups, P).mean(2)). groups = 1:
// one ranking per layer shared by every KV head (the reference's default n_groups = 1); groups =
// Hkv: one ranking per KV head over its own query heads (the study's run config, group_size = 1).
// q [B, Hq, d]; digests [B, Hkv, P, 2d]. Returns [B, groups, P] float32 (computed in float32).
at::Tensor page_scores(const at::Tensor& q, const at::Tensor& digests, int64_t groups);

// The k best pages among pages [first, end) of scores [B, G, P]: [B, G, k] int64 page ids in
// ascending order, ranked by (score descending, page ascending) (harness/kv/ops.h topk_per_head).
// The reference's radix select (select.cu) returns the same set up to ties, which it leaves
// unordered. Requires 0 <= first, end <= P and k <= end - first.
at::Tensor rank_pages(const at::Tensor& scores, int64_t first, int64_t end, int64_t k);

// One page brought back from the host into a slot of a row (row = b * groups + g).
struct Recall {
  int64_t row = 0;
  int64_t slot = 0;
  int64_t page = 0;
};

struct TableUpdate {
  std::vector<Recall> recalls;  // pages to copy host -> device, into the slots they take
  int64_t hits = 0;             // wanted pages already resident
  int64_t lookups = 0;          // wanted pages (rows * k)
};

// The device page cache of one layer: `rows` rows (B * groups), each of `slots` slots holding a
// page id. Slots [0, sinks) hold pages 0..sinks-1 and slots [slots - window, slots) the last
// `window` pages of the prompt (the last slot its last, possibly partial, page): both never move.
// The middle slots [sinks, slots - window) hold ranked pages, kept until a step evicts them.
class PageTable {
 public:
  PageTable() = default;
  // After the prompt of `pages` pages (prefill_select_topk): slots [0, prefill_sinks) take pages
  // 0..prefill_sinks-1 (the reference keeps max(2, n_sink_pages) pages here), the next slots take
  // `chosen` ([B, n] int64 ascending page ids per sequence, CPU; n = slots - prefill_sinks - window;
  // row r = b * groups + g takes sequence b's), the last `window` slots the last pages.
  // Requires pages > slots.
  PageTable(int64_t groups, int64_t slots, int64_t sinks, int64_t window, int64_t pages, int64_t prefill_sinks,
            const at::Tensor& chosen);

  // One decode step (select.cu SelectTopkKernel): `wanted` [rows, k] int64 ascending page ids
  // (rank_pages over the middle candidates [sinks, pages - window)) must all be resident afterwards.
  // Wanted pages already in a middle slot stay (hits); each missing page takes the slot of a middle
  // page that is not wanted, the lowest-scored first (`scores` [rows, >= pages - window] float32, this
  // step's scores; ties: the lower page id is evicted first); missing pages are assigned in ascending
  // page order. The reference evicts the lowest-scored middle slots with a radix select that does
  // not exclude wanted pages explicitly; they differ only when a wanted page ties the eviction bound.
  // Requires k <= slots - sinks - window. Both tensors on the CPU.
  TableUpdate update(const at::Tensor& wanted, const at::Tensor& scores);

  // Sorted page ids resident in `row`.
  std::vector<int64_t> resident(int64_t row) const;
  int64_t page_at(int64_t row, int64_t slot) const { return page_[static_cast<size_t>(row * slots_ + slot)]; }
  int64_t rows() const { return rows_; }
  int64_t slots() const { return slots_; }
  int64_t bytes() const { return rows_ * slots_ * static_cast<int64_t>(sizeof(int64_t)); }

 private:
  int64_t rows_ = 0, slots_ = 0, sinks_ = 0, window_ = 0, pages_ = 0;
  std::vector<int64_t> page_;  // [rows * slots] page id per slot
};

}  // namespace kvbench::arkvale
