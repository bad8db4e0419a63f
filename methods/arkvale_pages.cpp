// SPDX-License-Identifier: Apache-2.0
// ArkVale page digests, page scores, page ranking and the device page cache's table (see the header).
#include "methods/arkvale_pages.h"

#include "harness/error.h"
#include "harness/kv/ops.h"

#include <algorithm>
#include <numeric>

namespace kvbench::arkvale {

DigestKind parse_digest_kind(const std::string& name) {
  if (name == "cuboid") return DigestKind::kCuboid;
  if (name == "cuboid_mean") return DigestKind::kCuboidMean;
  KVBENCH_FAIL(ErrorKind::kConfig, "method.params.digest: '", name, "' is not one of cuboid, cuboid_mean");
}

const char* digest_kind_name(DigestKind kind) { return kind == DigestKind::kCuboid ? "cuboid" : "cuboid_mean"; }

at::Tensor page_digests(const at::Tensor& keys, int64_t page_size, DigestKind kind) {
  KVBENCH_ASSERT(keys.dim() == 4 && page_size >= 1 && keys.size(2) % page_size == 0,
                 "arkvale::page_digests: keys [B, H, n * page_size, d], got ", keys.sizes(), " for page ", page_size);
  const int64_t b = keys.size(0), h = keys.size(1), n = keys.size(2) / page_size, d = keys.size(3);
  at::Tensor paged = keys.reshape({b, h, n, page_size, d});  // the rows of each page on dim 3
  at::Tensor upper = paged.amax(3), lower = paged.amin(3);    // [B, H, n, d]
  if (kind == DigestKind::kCuboidMean) {
    // In the keys' dtype, in the reference's order of operations.
    at::Tensor center = (upper + lower) / 2;
    at::Tensor radius = (center.unsqueeze(3) - paged).abs().mean(3);
    upper = center + radius;
    lower = center - radius;
  }
  return at::cat({upper, lower}, -1);
}

at::Tensor page_scores(const at::Tensor& q, const at::Tensor& digests, int64_t groups) {
  const int64_t b = q.size(0), hq = q.size(1), d = q.size(2);
  const int64_t hkv = digests.size(1), pages = digests.size(2);
  KVBENCH_ASSERT(hq % hkv == 0 && groups >= 1 && hq % groups == 0 && digests.size(3) == 2 * d,
                 "arkvale::page_scores: ", hq, " query heads, ", hkv, " KV heads, ", groups, " groups, digests ",
                 digests.sizes());
  // Per term max(q u, q l) = q+ u + q- l exactly, because u >= l (both digest kinds): the positive
  // query parts meet the upper corner, the negative ones the lower. [B, Hkv, G, 2d] . [B, Hkv, 2d, P].
  at::Tensor q32 = q.to(at::kFloat).reshape({b, hkv, hq / hkv, d});
  at::Tensor q_split = at::cat({q32.clamp_min(0), q32.clamp_max(0)}, -1);
  at::Tensor per_head = at::matmul(q_split, digests.to(at::kFloat).transpose(-1, -2)).reshape({b, hq, pages});
  return per_head.reshape({b, groups, hq / groups, pages}).mean(2);
}

at::Tensor rank_pages(const at::Tensor& scores, int64_t first, int64_t end, int64_t k) {
  KVBENCH_ASSERT(first >= 0 && end <= scores.size(-1) && k >= 0 && k <= end - first, "arkvale::rank_pages: k = ", k,
                 " of pages [", first, ", ", end, ") of ", scores.size(-1));
  return topk_per_head(scores.narrow(-1, first, end - first).contiguous(), k) + first;
}

PageTable::PageTable(int64_t groups, int64_t slots, int64_t sinks, int64_t window, int64_t pages, int64_t prefill_sinks,
                     const at::Tensor& chosen)
    : rows_(chosen.size(0) * groups), slots_(slots), sinks_(sinks), window_(window), pages_(pages),
      page_(static_cast<size_t>(rows_ * slots)) {
  const int64_t n = chosen.dim() == 2 ? chosen.size(1) : -1;
  KVBENCH_ASSERT(pages > slots && prefill_sinks >= sinks && prefill_sinks + window <= slots &&
                     n == slots - prefill_sinks - window,
                 "arkvale::PageTable: ", pages, " pages, ", slots, " slots, ", prefill_sinks, " sinks, ", window,
                 " window, chosen ", chosen.sizes());
  const at::Tensor ids = chosen.to(at::kLong).contiguous();
  for (int64_t r = 0; r < rows_; ++r) {
    int64_t* row = page_.data() + r * slots;
    const int64_t* first = ids.data_ptr<int64_t>() + (r / groups) * n;
    for (int64_t s = 0; s < prefill_sinks; ++s) row[s] = s;
    std::copy(first, first + n, row + prefill_sinks);
    for (int64_t w = 0; w < window; ++w) row[slots - window + w] = pages - window + w;
  }
}

TableUpdate PageTable::update(const at::Tensor& wanted, const at::Tensor& scores) {
  KVBENCH_ASSERT(wanted.dim() == 2 && wanted.size(0) == rows_ && wanted.size(1) <= slots_ - sinks_ - window_ &&
                     scores.dim() == 2 && scores.size(0) == rows_ && scores.size(1) >= pages_ - window_,
                 "arkvale::PageTable::update: wanted ", wanted.sizes(), ", scores ", scores.sizes(), " for ", rows_,
                 " rows of ", slots_, " slots");
  const at::Tensor want = wanted.to(at::kLong).contiguous();
  const at::Tensor score = scores.to(at::kFloat).contiguous();
  const int64_t k = want.size(1), middle_begin = sinks_, middle_end = slots_ - window_;
  TableUpdate out;
  out.lookups = rows_ * k;
  std::vector<char> is_wanted(static_cast<size_t>(pages_));
  std::vector<char> is_resident(static_cast<size_t>(pages_));
  for (int64_t r = 0; r < rows_; ++r) {
    const int64_t* w = want.data_ptr<int64_t>() + r * k;
    const float* s = score.data_ptr<float>() + r * score.size(1);
    int64_t* row = page_.data() + r * slots_;
    std::fill(is_wanted.begin(), is_wanted.end(), 0);
    std::fill(is_resident.begin(), is_resident.end(), 0);
    for (int64_t i = 0; i < k; ++i) is_wanted[static_cast<size_t>(w[i])] = 1;
    std::vector<int64_t> victims;  // middle slots whose page is not wanted
    for (int64_t slot = middle_begin; slot < middle_end; ++slot) {
      const int64_t p = row[slot];
      is_resident[static_cast<size_t>(p)] = 1;
      if (is_wanted[static_cast<size_t>(p)]) {
        ++out.hits;
      } else {
        victims.push_back(slot);
      }
    }
    // Lowest score first; among equal scores the lower page id.
    std::stable_sort(victims.begin(), victims.end(), [&](int64_t a, int64_t b) {
      const int64_t pa = row[a], pb = row[b];
      if (s[pa] != s[pb]) return s[pa] < s[pb];
      return pa < pb;
    });
    size_t next = 0;
    for (int64_t i = 0; i < k; ++i) {
      const int64_t p = w[i];
      if (is_resident[static_cast<size_t>(p)]) continue;
      KVBENCH_ASSERT(next < victims.size(), "arkvale::PageTable::update: no slot left for page ", p);
      const int64_t slot = victims[next++];
      row[slot] = p;
      out.recalls.push_back({r, slot, p});
    }
  }
  return out;
}

std::vector<int64_t> PageTable::resident(int64_t row) const {
  std::vector<int64_t> pages(page_.begin() + row * slots_, page_.begin() + (row + 1) * slots_);
  std::sort(pages.begin(), pages.end());
  return pages;
}

}  // namespace kvbench::arkvale
