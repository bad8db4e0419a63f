// SPDX-License-Identifier: Apache-2.0
// Quest page digests, page scores, page selection and attention over selected pages (see the header).
#include "methods/quest_pages.h"

#include "harness/error.h"

#include <optional>
#include <tuple>

namespace kvbench {

at::Tensor quest_page_digests(const at::Tensor& keys, int64_t page_size) {
  KVBENCH_ASSERT(keys.dim() == 4 && page_size >= 1, "quest_page_digests: keys must be [B, H, S, d]");
  const int64_t b = keys.size(0), h = keys.size(1), s = keys.size(2), d = keys.size(3);
  const int64_t full = s / page_size, rest = s - full * page_size;
  const int64_t pages = full + (rest > 0 ? 1 : 0);
  at::Tensor digests = at::empty({b, h, pages, 2 * d}, keys.options());
  if (full > 0) {
    // [B, H, full, page_size, d] reduced over the rows of each page.
    at::Tensor paged = keys.narrow(2, 0, full * page_size).reshape({b, h, full, page_size, d});
    digests.narrow(2, 0, full).narrow(3, 0, d).copy_(paged.amax(3));
    digests.narrow(2, 0, full).narrow(3, d, d).copy_(paged.amin(3));
  }
  if (rest > 0) {
    at::Tensor tail = keys.narrow(2, full * page_size, rest);
    digests.narrow(2, full, 1).narrow(3, 0, d).copy_(tail.amax(2, /*keepdim=*/true));
    digests.narrow(2, full, 1).narrow(3, d, d).copy_(tail.amin(2, /*keepdim=*/true));
  }
  return digests;
}

void quest_update_digest(at::Tensor& digests, const at::Tensor& key, int64_t slot, int64_t page_size) {
  const int64_t d = key.size(3);
  at::Tensor page = digests.narrow(2, slot / page_size, 1);  // [B, H, 1, 2d]
  at::Tensor page_max = page.narrow(3, 0, d), page_min = page.narrow(3, d, d);
  if (slot % page_size == 0) {
    page_max.copy_(key);
    page_min.copy_(key);
  } else {
    page_max.copy_(at::maximum(page_max, key));
    page_min.copy_(at::minimum(page_min, key));
  }
}

at::Tensor quest_page_scores(const at::Tensor& q, const at::Tensor& digests) {
  const int64_t b = q.size(0), hq = q.size(1), d = q.size(2);
  const int64_t hkv = digests.size(1), pages = digests.size(2);
  KVBENCH_ASSERT(hq % hkv == 0, "quest_page_scores: ", hq, " query heads over ", hkv, " KV heads");
  const int64_t group = hq / hkv;
  // [B, Hkv, G, 2d] . [B, Hkv, 2d, P]: positive query parts meet the page max, negative ones the min.
  at::Tensor q32 = q.to(at::kFloat).reshape({b, hkv, group, d});
  at::Tensor q_split = at::cat({q32.clamp_min(0), q32.clamp_max(0)}, -1);
  return at::matmul(q_split, digests.to(at::kFloat).transpose(-1, -2)).reshape({b, hq, pages});
}

at::Tensor quest_select_pages(const at::Tensor& scores, int64_t k, bool keep_last) {
  const int64_t pages = scores.size(-1);
  KVBENCH_ASSERT(k >= 1 && k <= pages, "quest_select_pages: k = ", k, " of ", pages, " pages");
  at::Tensor candidates = keep_last ? scores.narrow(-1, 0, pages - 1) : scores;
  const int64_t take = keep_last ? k - 1 : k;
  at::Tensor order = std::get<1>(at::sort(candidates, /*stable=*/true, /*dim=*/-1, /*descending=*/true));
  at::Tensor chosen = order.narrow(-1, 0, take);
  if (keep_last) {
    at::Tensor last = at::full({scores.size(0), scores.size(1), 1}, pages - 1, chosen.options());
    chosen = at::cat({chosen, last}, -1);
  }
  return std::get<0>(at::sort(chosen, -1));
}

at::Tensor quest_attend_pages(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                              const at::Tensor& pages, int64_t page_size, double scale,
                              int64_t* gathered_bytes) {
  const int64_t b = q.size(0), hq = q.size(1), d = q.size(3);
  const int64_t hkv = keys.size(1), s = keys.size(2), k = pages.size(2);
  const int64_t group = hq / hkv, rows = k * page_size;
  // Slot of each gathered row: [B, Hq, k * page_size]; rows past the end of a partial last page are
  // clamped to a real slot and masked out below.
  at::Tensor offsets = at::arange(page_size, pages.options());
  at::Tensor slots = (pages.unsqueeze(-1) * page_size + offsets).reshape({b, hq, rows});
  at::Tensor in_range = slots < s;
  // Query heads of one KV head are contiguous, so [B, Hq, rows] views as [B, Hkv, G * rows].
  at::Tensor index = slots.clamp_max(s - 1).reshape({b, hkv, group * rows, 1}).expand({b, hkv, group * rows, d});
  at::Tensor k_sel = at::gather(keys, 2, index).reshape({b, hq, rows, d});
  at::Tensor v_sel = at::gather(values, 2, index).reshape({b, hq, rows, d});
  if (gathered_bytes != nullptr) *gathered_bytes = static_cast<int64_t>(k_sel.nbytes() + v_sel.nbytes());
  std::optional<at::Tensor> mask;  // only a partial last page has rows to mask
  if (s % page_size != 0) mask = in_range.reshape({b, hq, 1, rows});
  return at::scaled_dot_product_attention(q, k_sel, v_sel, mask, 0.0, false, scale, false);
}

}  // namespace kvbench
