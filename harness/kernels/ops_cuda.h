// SPDX-License-Identifier: Apache-2.0
// at::Tensor launchers of the CUDA kernels behind harness/kv/ops.h (CUDA builds only: this library
// exists when nvcc does, KVBENCH_WITH_CUDA). Each checks device, dtype, layout and shapes with an
// Error naming the op and argument, then launches on the current stream of the inputs' device.
// Callers normally go through harness/kv/ops.h, which dispatches here for CUDA inputs.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <initializer_list>
#include <utility>

namespace kvbench {
namespace cuda {

at::Tensor higgs_landmark_scores_cuda(const at::Tensor& query, const at::Tensor& codes, const at::Tensor& scales,
                                      const at::Tensor& grid, int64_t group, int64_t num_kv_heads, int64_t head_dim);
at::Tensor topk_per_head_cuda(const at::Tensor& scores, int64_t k);
int64_t gather_rows_cuda(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out, bool check_indices);
at::Tensor shadowkv_reconstruct_keys_cuda(const at::Tensor& u, const at::Tensor& sv, const at::Tensor& positions,
                                          const at::Tensor& cos, const at::Tensor& sin, bool check_positions);
// KIVI attention (harness/kv/kivi_attention.h): the KiviCacheView's tensors, codes undefined for a
// side without quantized rows.
at::Tensor kivi_attention_cuda(const at::Tensor& query, const at::Tensor& key_codes, const at::Tensor& key_scale,
                               const at::Tensor& key_zero, const at::Tensor& key_residual,
                               const at::Tensor& value_codes, const at::Tensor& value_scale,
                               const at::Tensor& value_zero, const at::Tensor& value_residual, int64_t group,
                               int64_t key_bits, int64_t value_bits, int64_t q_offset, double scale);

// Shared by the launchers: every tensor is a CUDA tensor on one device (returned); `contiguous`
// lists the ones that must also be contiguous.
namespace detail {
at::Device check_same_cuda_device(const char* op, std::initializer_list<std::pair<const char*, const at::Tensor*>> all);
void check_contiguous(const char* op, std::initializer_list<std::pair<const char*, const at::Tensor*>> tensors);
void check_launch(const char* op, int status_code, const char* status_text);
// Throws when the device flag (an int32 CUDA tensor of one element) was raised (synchronizes).
void check_flag(const char* op, const at::Tensor& flag, const char* what);
}  // namespace detail

}  // namespace cuda
}  // namespace kvbench
