// SPDX-License-Identifier: Apache-2.0
// LibTorch references of the KV hot-path ops (harness/kv/ops.h) and the dispatch to the CUDA
// launchers (harness/kernels/ops_cuda.h) for CUDA inputs in CUDA builds.
#include "harness/kv/ops.h"

#include "harness/kernels/ops_checks.h"

#ifdef KVBENCH_WITH_CUDA
#include "harness/kernels/ops_cuda.h"
#endif

namespace kvbench {
namespace {

// Unnormalized Sylvester Hadamard matrix H_g [g, g] (float32): H_1 = [1], H_2k = [[H, H], [H, -H]].
at::Tensor hadamard_matrix(int64_t g, const at::Device& device) {
  at::Tensor h = at::ones({1, 1}, at::TensorOptions().dtype(at::kFloat).device(device));
  while (h.size(0) < g) h = at::cat({at::cat({h, h}, 1), at::cat({h, -h}, 1)}, 0);
  return h;
}

// [first, last] of the index values, or throws naming the op and the allowed range.
void check_index_range(const char* op, const char* what, const at::Tensor& index, int64_t limit) {
  if (index.numel() == 0) return;
  const int64_t lo = index.min().item<int64_t>();
  const int64_t hi = index.max().item<int64_t>();
  KVBENCH_CHECK(lo >= 0 && hi < limit, op, ": ", what, " values must lie in [0, ", limit, "), got [", lo, ", ", hi,
                "]");
}

bool any_cuda(std::initializer_list<const at::Tensor*> tensors) {
  for (const at::Tensor* t : tensors)
    if (t->defined() && t->is_cuda()) return true;
  return false;
}

}  // namespace

bool kv_ops_have_cuda_kernels() {
#ifdef KVBENCH_WITH_CUDA
  return true;
#else
  return false;
#endif
}

// --- higgs_landmark_scores ------------------------------------------------------------------------

at::Tensor higgs_landmark_scores_reference(const at::Tensor& query, const at::Tensor& codes,
                                           const at::Tensor& scales, const at::Tensor& grid, int64_t group,
                                           int64_t num_kv_heads, int64_t head_dim) {
  const auto s = ops_detail::check_landmark_scores(query, codes, scales, grid, group, num_kv_heads, head_dim);
  const at::Device device = codes.device();
  // Dequantize every landmark: y = G[codes] [B, n, C_pad/g, g], times the group scale, then
  // x^_j = H_g y_j / g (row vectors: y_j H_g, H_g symmetric), cropped to C.
  at::Tensor y = grid.to(device).index_select(0, codes.reshape({-1}).to(at::kLong));
  y = y.view({s.batch, s.n, s.groups_per_row, group}) * scales.unsqueeze(-1);
  at::Tensor x = at::matmul(y, hadamard_matrix(group, device)) / static_cast<double>(group);
  x = x.reshape({s.batch, s.n, s.padded_channels}).narrow(2, 0, s.channels);
  x = x.reshape({s.batch, s.n, num_kv_heads, head_dim});
  // scores[b, h, q, t] = sum_k query[b, h, q, k] * x[b, t, h, k]
  return at::einsum("bhqk,bthk->bhqt", {query.to(device).to(at::kFloat), x}).contiguous();
}

at::Tensor higgs_landmark_scores(const at::Tensor& query, const at::Tensor& codes, const at::Tensor& scales,
                                 const at::Tensor& grid, int64_t group, int64_t num_kv_heads, int64_t head_dim) {
#ifdef KVBENCH_WITH_CUDA
  if (any_cuda({&query, &codes, &scales, &grid}))
    return cuda::higgs_landmark_scores_cuda(query, codes, scales, grid, group, num_kv_heads, head_dim);
#endif
  return higgs_landmark_scores_reference(query, codes, scales, grid, group, num_kv_heads, head_dim);
}

// --- topk_per_head --------------------------------------------------------------------------------

at::Tensor topk_per_head_reference(const at::Tensor& scores, int64_t k) {
  ops_detail::check_topk(scores, k);
  if (k == 0) return at::empty({scores.size(0), scores.size(1), 0}, scores.options().dtype(at::kLong));
  // A stable descending sort orders equal scores by ascending index (and sorts NaN first, -0 == +0),
  // which is the documented rank; the first k positions, listed in ascending index order.
  at::Tensor order = std::get<1>(at::sort(scores, /*stable=*/true, /*dim=*/-1, /*descending=*/true));
  return std::get<0>(at::sort(order.narrow(-1, 0, k), /*dim=*/-1)).contiguous();
}

at::Tensor topk_per_head(const at::Tensor& scores, int64_t k) {
#ifdef KVBENCH_WITH_CUDA
  if (scores.defined() && scores.is_cuda()) return cuda::topk_per_head_cuda(scores, k);
#endif
  return topk_per_head_reference(scores, k);
}

// --- gather_rows ----------------------------------------------------------------------------------

int64_t gather_rows_reference(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out) {
  ops_detail::check_gather_rows(src, index, out);
  check_index_range("gather_rows", "index", index, src.size(2));
  const int64_t bytes = out.numel() * static_cast<int64_t>(out.element_size());
  if (out.numel() == 0) return bytes;
  // Rows as bytes so every dtype (fp8 included) takes the same path: [B, H, S, W * elem].
  at::Tensor src_bytes = src.view(at::kByte);
  at::Tensor out_bytes = out.view(at::kByte);
  at::Tensor idx = index.to(src.device()).unsqueeze(-1).expand({index.size(0), index.size(1), index.size(2),
                                                                src_bytes.size(3)});
  out_bytes.copy_(at::gather(src_bytes, 2, idx));
  return bytes;
}

int64_t gather_rows(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out, bool check_indices) {
#ifdef KVBENCH_WITH_CUDA
  if (any_cuda({&src, &index, &out})) return cuda::gather_rows_cuda(src, index, out, check_indices);
#endif
  return gather_rows_reference(src, index, out);
}

// --- shadowkv_reconstruct_keys --------------------------------------------------------------------

at::Tensor shadowkv_reconstruct_keys_reference(const at::Tensor& u, const at::Tensor& sv,
                                               const at::Tensor& positions, const at::Tensor& cos,
                                               const at::Tensor& sin) {
  ops_detail::check_reconstruct_keys(u, sv, positions, cos, sin);
  const int64_t b = u.size(0), r = u.size(2), hkv = sv.size(1), n = positions.size(2), d = sv.size(3);
  check_index_range("shadowkv_reconstruct_keys", "positions", positions, u.size(1));
  // U rows at the positions: [B, Hkv * n, r] -> [B, Hkv, n, r]; times SV [B, Hkv, r, d].
  at::Tensor flat = positions.to(u.device()).reshape({b, hkv * n, 1}).expand({b, hkv * n, r});
  at::Tensor rows = at::gather(u, 1, flat).view({b, hkv, n, r});
  at::Tensor k = at::matmul(rows, sv);
  // RoPE, rotate-half form as harness/kv/rope.cpp.
  const int64_t half = d / 2;
  at::Tensor rotated = at::cat({-k.narrow(-1, half, half), k.narrow(-1, 0, half)}, -1);
  return (k * cos + rotated * sin).contiguous();
}

at::Tensor shadowkv_reconstruct_keys(const at::Tensor& u, const at::Tensor& sv, const at::Tensor& positions,
                                     const at::Tensor& cos, const at::Tensor& sin, bool check_positions) {
#ifdef KVBENCH_WITH_CUDA
  if (any_cuda({&u, &sv, &positions, &cos, &sin}))
    return cuda::shadowkv_reconstruct_keys_cuda(u, sv, positions, cos, sin, check_positions);
#endif
  return shadowkv_reconstruct_keys_reference(u, sv, positions, cos, sin);
}

}  // namespace kvbench
