// SPDX-License-Identifier: Apache-2.0
// Argument checks shared by the LibTorch references (harness/kv/ops.cpp) and the CUDA launchers
// (harness/kernels/*_launch.cpp): shapes, dtypes and the supported parameter ranges of the ops in
// harness/kv/ops.h, each failure an Error naming the op, the argument and the offending values.
// Device and layout (contiguity) checks are the launchers' own. Header-only so kvbench_kernels can use
// it without linking kvbench_model.
#pragma once

#include "harness/error.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>

namespace kvbench {
namespace ops_detail {

inline std::string shape_str(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

inline bool is_power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

// Sizes of one higgs_landmark_scores call (names as in harness/kv/ops.h).
struct LandmarkScoresShape {
  int64_t batch = 0, num_kv_heads = 0, q_rows = 0, head_dim = 0, n = 0;
  int64_t group = 0, grid_dim = 0;
  int64_t channels = 0, padded_channels = 0;  // C = Hkv * d, C_pad = ceil(C / g) * g
  int64_t codes_per_row = 0;                  // C_pad / D
  int64_t groups_per_row = 0;                 // C_pad / g
  int64_t width = 0;                          // Hadamard-transformed query length per head: max(g, d)
};

inline LandmarkScoresShape check_landmark_scores(const at::Tensor& query, const at::Tensor& codes,
                                                 const at::Tensor& scales, const at::Tensor& grid,
                                                 int64_t group, int64_t num_kv_heads, int64_t head_dim) {
  const char* op = "higgs_landmark_scores";
  LandmarkScoresShape s;
  KVBENCH_CHECK(num_kv_heads >= 1 && head_dim >= 1, op, ": num_kv_heads (", num_kv_heads, ") and head_dim (",
                head_dim, ") must be >= 1");
  KVBENCH_CHECK(grid.defined() && grid.dim() == 2 && grid.size(0) == 256 && grid.size(1) >= 1 &&
                    grid.scalar_type() == at::kFloat,
                op, ": grid must be float32 [256, D], got ", grid.defined() ? shape_str(grid) : "undefined", " ",
                grid.defined() ? c10::toString(grid.scalar_type()) : "");
  s.grid_dim = grid.size(1);
  KVBENCH_CHECK(is_power_of_two(group) && group % s.grid_dim == 0, op, ": group ", group,
                " must be a power of two and a multiple of the grid dimension D = ", s.grid_dim);
  KVBENCH_CHECK(group % head_dim == 0 || head_dim % group == 0, op, ": unsupported (group, head_dim) = (", group,
                ", ", head_dim,
                "): the Hadamard group must hold whole heads (group % head_dim == 0) or a head whole groups "
                "(head_dim % group == 0)");
  KVBENCH_CHECK(query.defined() && query.dim() == 4 && query.size(1) == num_kv_heads && query.size(3) == head_dim,
                op, ": query must be [B, Hkv=", num_kv_heads, ", Gq, d=", head_dim, "], got ",
                query.defined() ? shape_str(query) : "undefined");
  const auto qt = query.scalar_type();
  KVBENCH_CHECK(qt == at::kFloat || qt == at::kBFloat16 || qt == at::kHalf, op,
                ": query must be float32, bfloat16 or float16, got ", c10::toString(qt));
  s.batch = query.size(0);
  s.num_kv_heads = num_kv_heads;
  s.q_rows = query.size(2);
  s.head_dim = head_dim;
  s.group = group;
  s.channels = num_kv_heads * head_dim;
  s.padded_channels = (s.channels + group - 1) / group * group;
  s.codes_per_row = s.padded_channels / s.grid_dim;
  s.groups_per_row = s.padded_channels / group;
  s.width = std::max(group, head_dim);
  KVBENCH_CHECK(codes.defined() && codes.dim() == 3 && codes.scalar_type() == at::kByte &&
                    codes.size(0) == s.batch && codes.size(2) == s.codes_per_row,
                op, ": codes must be uint8 [B=", s.batch, ", n, C_pad/D=", s.codes_per_row, "] (C_pad = ",
                s.padded_channels, "), got ", codes.defined() ? shape_str(codes) : "undefined", " ",
                codes.defined() ? c10::toString(codes.scalar_type()) : "");
  s.n = codes.size(1);
  KVBENCH_CHECK(scales.defined() && scales.dim() == 3 && scales.scalar_type() == at::kFloat &&
                    scales.size(0) == s.batch && scales.size(1) == s.n && scales.size(2) == s.groups_per_row,
                op, ": scales must be float32 [B=", s.batch, ", n=", s.n, ", C_pad/g=", s.groups_per_row, "], got ",
                scales.defined() ? shape_str(scales) : "undefined", " ",
                scales.defined() ? c10::toString(scales.scalar_type()) : "");
  return s;
}

inline void check_topk(const at::Tensor& scores, int64_t k) {
  const char* op = "topk_per_head";
  KVBENCH_CHECK(scores.defined() && scores.dim() == 3 && scores.scalar_type() == at::kFloat, op,
                ": scores must be float32 [B, H, n], got ", scores.defined() ? shape_str(scores) : "undefined", " ",
                scores.defined() ? c10::toString(scores.scalar_type()) : "");
  KVBENCH_CHECK(k >= 0 && k <= scores.size(2), op, ": k = ", k, " must lie in [0, n = ", scores.size(2), "]");
}

inline void check_gather_rows(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out) {
  const char* op = "gather_rows";
  KVBENCH_CHECK(src.defined() && src.dim() == 4, op, ": src must be [B, H, S, W], got ",
                src.defined() ? shape_str(src) : "undefined");
  KVBENCH_CHECK(index.defined() && index.dim() == 3 && index.scalar_type() == at::kLong &&
                    index.size(0) == src.size(0) && index.size(1) == src.size(1),
                op, ": index must be int64 [B=", src.size(0), ", H=", src.size(1), ", k], got ",
                index.defined() ? shape_str(index) : "undefined", " ",
                index.defined() ? c10::toString(index.scalar_type()) : "");
  KVBENCH_CHECK(out.defined() && out.dim() == 4 && out.size(0) == src.size(0) && out.size(1) == src.size(1) &&
                    out.size(2) == index.size(2) && out.size(3) == src.size(3),
                op, ": out must be [B=", src.size(0), ", H=", src.size(1), ", k=", index.size(2), ", W=", src.size(3),
                "], got ", out.defined() ? shape_str(out) : "undefined");
  KVBENCH_CHECK(out.scalar_type() == src.scalar_type(), op, ": out dtype ", c10::toString(out.scalar_type()),
                " differs from src dtype ", c10::toString(src.scalar_type()));
  KVBENCH_CHECK(src.size(3) == 0 || (src.stride(3) == 1 && out.stride(3) == 1), op,
                ": the last dimension of src and out must be contiguous (strides ", src.stride(3), ", ", out.stride(3),
                ")");
}

inline void check_reconstruct_keys(const at::Tensor& u, const at::Tensor& sv, const at::Tensor& positions,
                                   const at::Tensor& cos, const at::Tensor& sin) {
  const char* op = "shadowkv_reconstruct_keys";
  KVBENCH_CHECK(u.defined() && u.dim() == 3 && u.size(2) >= 1, op, ": U must be [B, S, r] with r >= 1, got ",
                u.defined() ? shape_str(u) : "undefined");
  const auto dt = u.scalar_type();
  KVBENCH_CHECK(dt == at::kFloat || dt == at::kBFloat16 || dt == at::kHalf, op,
                ": U must be float32, bfloat16 or float16, got ", c10::toString(dt));
  KVBENCH_CHECK(sv.defined() && sv.dim() == 4 && sv.size(0) == u.size(0) && sv.size(2) == u.size(2) &&
                    sv.size(3) >= 2 && sv.size(3) % 2 == 0 && sv.scalar_type() == dt,
                op, ": SV must be ", c10::toString(dt), " [B=", u.size(0), ", Hkv, r=", u.size(2),
                ", d] with d even, got ", sv.defined() ? shape_str(sv) : "undefined", " ",
                sv.defined() ? c10::toString(sv.scalar_type()) : "");
  KVBENCH_CHECK(positions.defined() && positions.dim() == 3 && positions.scalar_type() == at::kLong &&
                    positions.size(0) == u.size(0) && positions.size(1) == sv.size(1),
                op, ": positions must be int64 [B=", u.size(0), ", Hkv=", sv.size(1), ", n], got ",
                positions.defined() ? shape_str(positions) : "undefined");
  for (const at::Tensor* t : {&cos, &sin}) {
    KVBENCH_CHECK(t->defined() && t->dim() == 4 && t->size(0) == u.size(0) && t->size(1) == sv.size(1) &&
                      t->size(2) == positions.size(2) && t->size(3) == sv.size(3) && t->scalar_type() == dt,
                  op, ": ", t == &cos ? "cos" : "sin", " must be ", c10::toString(dt), " [B=", u.size(0),
                  ", Hkv=", sv.size(1), ", n=", positions.size(2), ", d=", sv.size(3), "], got ",
                  t->defined() ? shape_str(*t) : "undefined", " ", t->defined() ? c10::toString(t->scalar_type()) : "");
  }
}

}  // namespace ops_detail
}  // namespace kvbench
