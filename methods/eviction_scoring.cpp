// SPDX-License-Identifier: Apache-2.0
// The eviction methods' scoring rules (methods/eviction_scoring.h): deterministic top-k, SnapKV
// window scores and pooling, grouped means and blocked attention column sums, in fp32.
#include "methods/eviction_scoring.h"

#include "harness/error.h"

#include <algorithm>
#include <limits>

namespace kvbench {

at::Tensor top_slots(const at::Tensor& scores, int64_t k) {
  const int64_t n = scores.size(-1);
  k = std::max<int64_t>(0, std::min(k, n));
  // A stable descending sort keeps equal scores in slot order, so the lower slot wins a tie.
  at::Tensor order = std::get<1>(at::sort(scores, /*stable=*/true, /*dim=*/-1, /*descending=*/true));
  return std::get<0>(at::sort(order.narrow(-1, 0, k), /*dim=*/-1));
}

at::Tensor snapkv_window_scores(const at::Tensor& window_queries, const at::Tensor& keys, double scale) {
  const int64_t b = window_queries.size(0), hq = window_queries.size(1), w = window_queries.size(2);
  const int64_t d = window_queries.size(3), hkv = keys.size(1), s = keys.size(2);
  KVBENCH_ASSERT(s > w && hq % hkv == 0, "snapkv scores: ", w, " window queries over ", s, " keys, ", hq,
                 " query heads over ", hkv, " KV heads");
  const int64_t group = hq / hkv;
  // Query head h uses KV head h / group (repeat_kv): [B, Hkv, group * w, d] against [B, Hkv, S, d].
  at::Tensor q = window_queries.to(at::kFloat).reshape({b, hkv, group * w, d});
  at::Tensor logits = at::matmul(q, keys.to(at::kFloat).transpose(-1, -2)).mul_(scale).view({b, hq, w, s});
  // Window row i sits at slot S - w + i and sees keys 0..S-w+i.
  at::Tensor rows = at::arange(s - w, s, keys.options().dtype(at::kLong)).unsqueeze(1);
  at::Tensor cols = at::arange(s, keys.options().dtype(at::kLong)).unsqueeze(0);
  logits.masked_fill_(cols > rows, -std::numeric_limits<float>::infinity());
  return at::softmax(logits, -1).narrow(-1, 0, s - w).sum(2);
}

SnapPooling parse_snap_pooling(const std::string& name) {
  if (name == "avgpool") return SnapPooling::kAvg;
  if (name == "maxpool") return SnapPooling::kMax;
  KVBENCH_FAIL(ErrorKind::kConfig, "method.params.pooling: '", name, "' is not avgpool or maxpool");
}

at::Tensor snapkv_pool(const at::Tensor& scores, int64_t kernel_size, SnapPooling pooling) {
  KVBENCH_ASSERT(kernel_size >= 1 && kernel_size % 2 == 1, "snapkv pooling: kernel_size ", kernel_size,
                 " must be odd");
  const int64_t pad = kernel_size / 2;
  if (pooling == SnapPooling::kAvg) {
    return at::avg_pool1d(scores, {kernel_size}, {1}, {pad}, /*ceil_mode=*/false, /*count_include_pad=*/true);
  }
  return at::max_pool1d(scores, {kernel_size}, {1}, {pad});
}

at::Tensor group_mean(const at::Tensor& scores, int64_t kv_heads) {
  const int64_t b = scores.size(0), hq = scores.size(1), n = scores.size(2);
  return scores.view({b, kv_heads, hq / kv_heads, n}).mean(2);
}

at::Tensor attention_column_sums(const at::Tensor& queries, const at::Tensor& keys, int64_t q_offset,
                                 double scale) {
  const int64_t b = queries.size(0), hq = queries.size(1), t = queries.size(2), d = queries.size(3);
  const int64_t hkv = keys.size(1), s = keys.size(2), group = hq / hkv;
  KVBENCH_ASSERT(q_offset + t <= s && hq % hkv == 0, "attention column sums: queries at ", q_offset, "..",
                 q_offset + t, " over ", s, " keys");
  const int64_t per_query = std::max<int64_t>(1, b * hq * s);
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 26) / per_query);
  at::Tensor k = keys.to(at::kFloat).transpose(-1, -2);  // [B, Hkv, d, S]
  at::Tensor cols = at::arange(s, keys.options().dtype(at::kLong)).unsqueeze(0);
  at::Tensor sums = at::zeros({b, hq, s}, keys.options().dtype(at::kFloat));
  for (int64_t begin = 0; begin < t; begin += block) {
    const int64_t n = std::min(block, t - begin);
    at::Tensor q = queries.narrow(2, begin, n).to(at::kFloat).reshape({b, hkv, group * n, d});
    at::Tensor logits = at::matmul(q, k).mul_(scale).view({b, hq, n, s});
    at::Tensor rows = at::arange(q_offset + begin, q_offset + begin + n, cols.options()).unsqueeze(1);
    logits.masked_fill_(cols > rows, -std::numeric_limits<float>::infinity());
    sums.add_(at::softmax(logits, -1).sum(2));
  }
  return sums;
}

}  // namespace kvbench
