// SPDX-License-Identifier: Apache-2.0
// InfiniGen speculation: partial projections, speculative scores, fetch counts and per-head top-k
// (see infinigen_speculation.h).
#include "methods/infinigen_speculation.h"

#include "harness/error.h"
#include "harness/kv/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kvbench::infinigen {

at::Tensor partial_query(const at::Tensor& query, const at::Tensor& partial_skew) {
  return at::matmul(query, partial_skew.unsqueeze(0));  // [B, Hq, T, d] @ [1, Hq, d, w]
}

at::Tensor partial_keys(const at::Tensor& key, const at::Tensor& partial_skew) {
  const int64_t hq = partial_skew.size(0), hkv = key.size(1);
  KVBENCH_CHECK(hkv > 0 && hq % hkv == 0, "infinigen: ", hq, " query heads are not a multiple of ", hkv, " KV heads");
  return at::matmul(key.repeat_interleave(hq / hkv, 1), partial_skew.unsqueeze(0));
}

at::Tensor speculative_scores(const at::Tensor& partial_query, const at::Tensor& partial_keys,
                              const at::Tensor& valid, double scale) {
  // [B, Hq, 1, w] @ [B, Hq, w, S] -> [B, Hq, S], in the inputs' dtype (bf16 runs accumulate in fp32).
  at::Tensor scores = at::matmul(partial_query, partial_keys.transpose(2, 3)).squeeze(2).to(at::kFloat) * scale;
  if (valid.defined())
    scores.masked_fill_(valid.logical_not().unsqueeze(1), -std::numeric_limits<float>::infinity());
  return scores;
}

int64_t fetch_count(const at::Tensor& scores, int64_t valid_slots, double budget, double alpha) {
  KVBENCH_CHECK(valid_slots >= 1, "infinigen: a sequence with no valid slot");
  int64_t k = static_cast<int64_t>(static_cast<double>(valid_slots) * budget);  // Python int(src_len * budget)
  k = std::min(std::max<int64_t>(k, 1), valid_slots);
  // Alpha rule (invalid slots are -inf, never above a finite threshold).
  const at::Tensor max = std::get<0>(scores.max(-1, /*keepdim=*/true));         // [Hq, 1]
  const at::Tensor within = (scores >= max - alpha).sum(-1).to(at::kDouble);     // [Hq]
  const int64_t by_alpha = static_cast<int64_t>(within.mean().item<double>());   // truncated, as .to(int32)
  return std::max<int64_t>(std::min(k, by_alpha), 1);
}

Selection select_tokens(const at::Tensor& scores, const std::vector<int64_t>& valid_slots, double budget,
                        double alpha) {
  const int64_t b = scores.size(0), hq = scores.size(1);
  KVBENCH_CHECK(static_cast<int64_t>(valid_slots.size()) == b, "infinigen: select_tokens got ", valid_slots.size(),
                " valid counts for ", b, " sequences");
  Selection out;
  for (int64_t i = 0; i < b; ++i) out.counts.push_back(fetch_count(scores[i], valid_slots[static_cast<size_t>(i)], budget, alpha));
  const int64_t k = *std::max_element(out.counts.begin(), out.counts.end());
  const bool uniform = std::all_of(out.counts.begin(), out.counts.end(), [&](int64_t c) { return c == k; });
  if (uniform) {
    out.slots = topk_per_head(scores, k);
    return out;
  }
  out.slots = at::empty({b, hq, k}, scores.options().dtype(at::kLong));
  out.key_valid = at::zeros({b, k}, scores.options().dtype(at::kBool));
  for (int64_t i = 0; i < b; ++i) {
    const int64_t c = out.counts[static_cast<size_t>(i)];
    const at::Tensor chosen = topk_per_head(scores.narrow(0, i, 1), c)[0];  // [Hq, c]
    out.slots[i].narrow(1, 0, c).copy_(chosen);
    if (c < k) out.slots[i].narrow(1, c, k - c).copy_(chosen.narrow(1, 0, 1).expand({hq, k - c}));
    out.key_valid[i].narrow(0, 0, c).fill_(true);
  }
  return out;
}

}  // namespace kvbench::infinigen
