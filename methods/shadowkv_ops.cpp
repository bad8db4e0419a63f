// SPDX-License-Identifier: Apache-2.0
// ShadowKV building blocks (see shadowkv_ops.h): plain LibTorch on any device.
#include "methods/shadowkv_ops.h"

#include "harness/error.h"
#include "harness/kv/ops.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace kvbench::shadowkv {

ChunkLayout chunk_layout(int64_t prompt_tokens, int64_t chunk, int64_t local_chunks, int64_t outlier_chunks,
                         int64_t sparse_tokens) {
  KVBENCH_CHECK(chunk >= 1, "shadowkv: chunk_size must be >= 1, got ", chunk);
  ChunkLayout l;
  l.prompt = prompt_tokens;
  l.chunk = chunk;
  l.chunks = std::max<int64_t>(prompt_tokens / chunk - local_chunks, 0);
  l.prefill_local = prompt_tokens - l.chunks * chunk;
  l.outliers = std::min(outlier_chunks, l.chunks);
  l.landmarks = l.chunks - l.outliers;
  l.selected = std::min(std::max<int64_t>(sparse_tokens, 0) / chunk, l.landmarks);
  return l;
}

LowRankKeys low_rank_keys(const at::Tensor& key_pre_rope, int64_t rank, at::ScalarType dtype, SvdRoute route) {
  const int64_t b = key_pre_rope.size(0), hkv = key_pre_rope.size(1), s = key_pre_rope.size(2),
                d = key_pre_rope.size(3);
  // [B, Hkv, S, d] -> [B, S, Hkv*d]: one row per token, all KV heads concatenated.
  at::Tensor k = key_pre_rope.transpose(1, 2).reshape({b, s, hkv * d}).to(at::kFloat);
  const int64_t r = std::min({rank, s, hkv * d});
  at::Tensor u, sigma, vh;  // [B, S, r], [B, r], [B, r, Hkv*d]
  if (route == SvdRoute::kExact) {
    std::tie(u, sigma, vh) = at::linalg_svd(k, /*full_matrices=*/false);
    u = u.narrow(2, 0, r);
    sigma = sigma.narrow(1, 0, r);
    vh = vh.narrow(1, 0, r);
  } else {
    // K^T K = V diag(s^2) V^T; eigh returns ascending eigenvalues: take the last r, largest first.
    auto [eigenvalues, eigenvectors] = at::linalg_eigh(at::matmul(k.transpose(1, 2), k));
    at::Tensor v = eigenvectors.narrow(2, hkv * d - r, r).flip({2});       // [B, Hkv*d, r]
    sigma = eigenvalues.narrow(1, hkv * d - r, r).flip({1}).clamp_min(0).sqrt();
    vh = v.transpose(1, 2);
    u = at::matmul(k, v) / sigma.clamp_min(1e-30).unsqueeze(1);
  }
  LowRankKeys out;
  out.u = u.to(dtype).contiguous();
  // diag(sigma) Vh: [B, r, Hkv*d] -> [B, Hkv, r, d].
  at::Tensor sv = sigma.unsqueeze(-1) * vh;
  out.sv = sv.reshape({b, r, hkv, d}).permute({0, 2, 1, 3}).to(dtype).contiguous();
  return out;
}

ChunkSummary summarize_chunks(const at::Tensor& key_post, const ChunkLayout& layout) {
  const int64_t b = key_post.size(0), hkv = key_post.size(1), d = key_post.size(3);
  const int64_t c = layout.chunks, o = layout.outliers;
  auto long_opts = at::TensorOptions().dtype(at::kLong).device(key_post.device());
  ChunkSummary out;
  if (c == 0) {
    out.outlier_ids = at::empty({b, hkv, 0}, long_opts);
    out.landmarks = at::empty({b, hkv, 0, d}, key_post.options());
    out.landmark_ids = at::empty({b, hkv, 0}, long_opts);
    return out;
  }
  at::Tensor ctx = key_post.narrow(2, 0, c * layout.chunk).reshape({b, hkv, c, layout.chunk, d});
  at::Tensor means = ctx.mean(-2);  // [B, Hkv, C, d]
  at::Tensor cosine = at::cosine_similarity(means.unsqueeze(3).expand_as(ctx), ctx, -1, 1e-8);
  at::Tensor min_cos = cosine.amin(-1);  // [B, Hkv, C]
  out.outlier_ids = o > 0 ? std::get<1>(at::topk(min_cos, o, -1, /*largest=*/false))
                          : at::empty({b, hkv, 0}, long_opts);
  at::Tensor keep = at::ones({b, hkv, c}, long_opts.dtype(at::kBool));
  if (o > 0) keep.scatter_(-1, out.outlier_ids, false);
  at::Tensor all = at::arange(c, long_opts).expand({b, hkv, c});
  out.landmark_ids = all.masked_select(keep).view({b, hkv, c - o});
  out.landmarks = means.gather(2, out.landmark_ids.unsqueeze(-1).expand({b, hkv, c - o, d})).contiguous();
  return out;
}

at::Tensor select_chunks(const at::Tensor& query, const at::Tensor& landmarks, const at::Tensor& landmark_ids,
                         int64_t k) {
  const int64_t b = query.size(0), hq = query.size(1), d = query.size(3);
  const int64_t hkv = landmarks.size(1);
  KVBENCH_CHECK(query.size(2) == 1, "shadowkv: chunk selection takes one query token, got ", query.size(2));
  KVBENCH_CHECK(hq % hkv == 0, "shadowkv: ", hq, " query heads are not a multiple of ", hkv, " KV heads");
  KVBENCH_CHECK(k <= landmarks.size(2), "shadowkv: selecting ", k, " of ", landmarks.size(2), " chunks");
  at::Tensor q = query.reshape({b, hkv, hq / hkv, d}).to(landmarks.scalar_type());
  // [B, Hkv, G, d] x [B, Hkv, d, C'] -> [B, Hkv, G, C'], divided by sqrt(d) in the landmarks' dtype.
  at::Tensor scores = at::matmul(q, landmarks.transpose(-1, -2)) / std::sqrt(static_cast<double>(d));
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(landmarks.scalar_type());
  at::Tensor merged = probs.amax(2);  // max over the group's query heads -> [B, Hkv, C']
  at::Tensor top = topk_per_head(merged.to(at::kFloat).contiguous(), k);
  return landmark_ids.gather(-1, top);
}

at::Tensor reconstruct_keys(const LowRankKeys& factors, const at::Tensor& ids, int64_t chunk, const Rope& rope) {
  const int64_t b = ids.size(0), hkv = ids.size(1), n = ids.size(2) * chunk, d = factors.sv.size(3);
  at::Tensor offsets = at::arange(chunk, ids.options());
  at::Tensor positions = (ids.unsqueeze(-1) * chunk + offsets).reshape({b, hkv, n});
  auto [cos, sin] = rope.cos_sin(positions.view({b, hkv * n}), factors.u.scalar_type());
  // Positions come from our own chunk ids (< C): no range check (it would synchronize).
  return shadowkv_reconstruct_keys(factors.u, factors.sv, positions, cos.view({b, hkv, n, d}),
                                   sin.view({b, hkv, n, d}), /*check_positions=*/false);
}

SlotUpdate update_slots(const at::Tensor& resident, const at::Tensor& wanted, int64_t num_chunks) {
  const int64_t rows = wanted.size(0), k = wanted.size(1);
  auto long_opts = wanted.options().dtype(at::kLong);
  SlotUpdate out;
  // Lookup tables indexed by chunk id + 1 (column 0 absorbs empty slots, id -1, and is never read
  // for a wanted id).
  at::Tensor slot_of = at::full({rows, num_chunks + 1}, -1, long_opts);
  slot_of.scatter_(1, resident + 1, at::arange(k, long_opts).expand({rows, k}));
  at::Tensor hit = slot_of.gather(1, wanted + 1).ge(0);  // [R, k] per wanted chunk
  at::Tensor wanted_set = at::zeros({rows, num_chunks + 1}, long_opts.dtype(at::kBool));
  wanted_set.scatter_(1, wanted + 1, true);
  wanted_set.select(1, 0).fill_(false);
  at::Tensor kept = wanted_set.gather(1, resident + 1);  // [R, k] per slot
  at::Tensor misses_per_row = k - hit.sum(1);
  at::Tensor totals = at::stack({hit.sum(), misses_per_row.max()}).cpu();
  out.hits = totals[0].item<int64_t>();
  out.misses = rows * k - out.hits;
  const int64_t m = totals[1].item<int64_t>();
  // Stable sorts put the free slots (kept = 0) and the missing chunks (hit = 0) first, in order.
  at::Tensor free_order = std::get<1>(at::sort(kept.to(at::kInt), /*stable=*/true, 1, false));
  at::Tensor miss_order = std::get<1>(at::sort(hit.to(at::kInt), /*stable=*/true, 1, false));
  out.miss_slots = free_order.narrow(1, 0, m).contiguous();
  out.miss_ids = wanted.gather(1, miss_order.narrow(1, 0, m));
  out.miss_valid = at::arange(m, long_opts).unsqueeze(0).lt(misses_per_row.unsqueeze(1));
  out.resident = resident.clone();
  at::Tensor values = at::where(out.miss_valid, out.miss_ids, out.resident.gather(1, out.miss_slots));
  out.resident.scatter_(1, out.miss_slots, values);
  return out;
}

}  // namespace kvbench::shadowkv
