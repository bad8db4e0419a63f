// SPDX-License-Identifier: Apache-2.0
// at::Tensor launcher of the KIVI attention kernel (kivi_attention.cuh): checks every tensor's
// device, dtype, layout and shape against the query (an Error naming the argument), allocates the
// output and the float scores workspace, and launches on the current stream.
#include "harness/kernels/kivi_attention.h"
#include "harness/kernels/ops_cuda.h"
#include "harness/kernels/ops_checks.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <string>

namespace kvbench {
namespace cuda {
namespace {

constexpr const char* kOp = "kivi_attention";

void check_shape(const char* name, const at::Tensor& t, std::initializer_list<int64_t> sizes) {
  KVBENCH_CHECK(t.defined() && t.sizes() == at::IntArrayRef(sizes), kOp, ": ", name, " must be ",
                at::IntArrayRef(sizes), ", got ", t.defined() ? ops_detail::shape_str(t) : "undefined");
}

void check_bits(const char* name, int64_t bits, int64_t group) {
  KVBENCH_CHECK((bits == 2 || bits == 4 || bits == 8) && group % (32 / bits) == 0, kOp, ": ", name, " ", bits,
                " with group ", group, ": quantized sides take 2, 4 or 8 bits and a group of whole int32 words");
}

}  // namespace

at::Tensor kivi_attention_cuda(const at::Tensor& query, const at::Tensor& key_codes, const at::Tensor& key_scale,
                               const at::Tensor& key_zero, const at::Tensor& key_residual,
                               const at::Tensor& value_codes, const at::Tensor& value_scale,
                               const at::Tensor& value_zero, const at::Tensor& value_residual, int64_t group,
                               int64_t key_bits, int64_t value_bits, int64_t q_offset, double scale) {
  KVBENCH_CHECK(query.defined() && query.dim() == 4, kOp, ": query must be [B, Hq, T, d], got ",
                query.defined() ? ops_detail::shape_str(query) : "undefined");
  KVBENCH_CHECK(key_residual.defined() && key_residual.dim() == 4 && value_residual.defined() &&
                    value_residual.dim() == 4,
                kOp, ": the key and value residuals must be [B, Hkv, rows, d]");
  const auto dtype = query.scalar_type();
  KVBENCH_CHECK(dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf, kOp,
                ": query must be float32, bfloat16 or float16, got ", c10::toString(dtype));
  const int64_t b = query.size(0), hq = query.size(1), t = query.size(2), d = query.size(3);
  const int64_t hkv = key_residual.size(1);
  KVBENCH_CHECK(hkv >= 1 && hq % hkv == 0, kOp, ": query heads (", hq, ") must be a multiple of KV heads (", hkv, ")");
  KVBENCH_CHECK(group >= 1 && d % group == 0, kOp, ": head_dim ", d, " must be a multiple of the group ", group);
  const int64_t key_groups = key_codes.defined() ? key_codes.size(2) : 0;
  const int64_t value_rows = value_codes.defined() ? value_codes.size(2) : 0;
  const int64_t rk = key_residual.size(2), rv = value_residual.size(2);
  check_shape("key_residual", key_residual, {b, hkv, rk, d});
  check_shape("value_residual", value_residual, {b, hkv, rv, d});
  std::vector<std::pair<const char*, const at::Tensor*>> all = {
      {"query", &query}, {"key_residual", &key_residual}, {"value_residual", &value_residual}};
  if (key_groups > 0) {
    check_bits("key_bits", key_bits, group);
    check_shape("key codes", key_codes, {b, hkv, key_groups, d * group * key_bits / 32});
    check_shape("key scale", key_scale, {b, hkv, key_groups, d});
    check_shape("key zero", key_zero, {b, hkv, key_groups, d});
    all.insert(all.end(), {{"key codes", &key_codes}, {"key scale", &key_scale}, {"key zero", &key_zero}});
  }
  if (value_rows > 0) {
    check_bits("value_bits", value_bits, group);
    check_shape("value codes", value_codes, {b, hkv, value_rows, d * value_bits / 32});
    check_shape("value scale", value_scale, {b, hkv, value_rows, d / group});
    check_shape("value zero", value_zero, {b, hkv, value_rows, d / group});
    all.insert(all.end(), {{"value codes", &value_codes}, {"value scale", &value_scale}, {"value zero", &value_zero}});
  }
  const int64_t seq = key_groups * group + rk;
  KVBENCH_CHECK(seq == value_rows + rv, kOp, ": ", seq, " key rows but ", value_rows + rv, " value rows");
  KVBENCH_CHECK(q_offset >= 0 && q_offset + t <= seq, kOp, ": queries at slots ", q_offset, "..", q_offset + t - 1,
                " past the ", seq, " cached rows");
  at::Device device = query.device();
  for (const auto& [name, tensor] : all) {
    KVBENCH_CHECK(tensor->is_cuda() && tensor->device() == device, kOp, ": ", name, " must be on ", device.str(),
                  ", got ", tensor->device().str());
    KVBENCH_CHECK(tensor->is_contiguous(), kOp, ": ", name, " must be contiguous");
    const bool codes = std::string(name).find("codes") != std::string::npos;
    KVBENCH_CHECK(tensor->scalar_type() == (codes ? at::kInt : dtype), kOp, ": ", name, " must be ",
                  codes ? "int32" : c10::toString(dtype), ", got ", c10::toString(tensor->scalar_type()));
  }
  const c10::cuda::CUDAGuard guard(device);
  at::Tensor out = at::empty({b, hq, t, d}, query.options());
  if (out.numel() == 0) return out;
  at::Tensor scores = at::empty({b * hq * t * seq}, query.options().dtype(at::kFloat));
  kernels::KiviAttentionArgs a;
  a.query = query.data_ptr();
  if (key_groups > 0) {
    a.key_codes = key_codes.data_ptr<int32_t>();
    a.key_scale = key_scale.data_ptr();
    a.key_zero = key_zero.data_ptr();
  }
  a.key_residual = key_residual.data_ptr();
  if (value_rows > 0) {
    a.value_codes = value_codes.data_ptr<int32_t>();
    a.value_scale = value_scale.data_ptr();
    a.value_zero = value_zero.data_ptr();
  }
  a.value_residual = value_residual.data_ptr();
  a.out = out.data_ptr();
  a.scores = scores.data_ptr<float>();
  a.dtype = dtype == at::kFloat      ? kernels::KiviDtype::kFloat32
            : dtype == at::kBFloat16 ? kernels::KiviDtype::kBFloat16
                                     : kernels::KiviDtype::kFloat16;
  a.batch = b;
  a.q_heads = hq;
  a.kv_heads = hkv;
  a.t = t;
  a.head_dim = d;
  a.group = group;
  a.key_bits = key_bits;
  a.value_bits = value_bits;
  a.key_groups = key_groups;
  a.key_residual_rows = rk;
  a.value_rows = value_rows;
  a.value_residual_rows = rv;
  a.q_offset = q_offset;
  a.scale = static_cast<float>(scale);
  const cudaError_t status = kernels::launch_kivi_attention(a, c10::cuda::getCurrentCUDAStream(device.index()));
  detail::check_launch(kOp, static_cast<int>(status), cudaGetErrorString(status));
  return out;
}

}  // namespace cuda
}  // namespace kvbench
