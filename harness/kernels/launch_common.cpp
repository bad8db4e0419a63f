// SPDX-License-Identifier: Apache-2.0
// Checks shared by the at::Tensor launchers of harness/kernels/ops_cuda.h.
#include "harness/kernels/ops_cuda.h"

#include "harness/error.h"

namespace kvbench {
namespace cuda {
namespace detail {

at::Device check_same_cuda_device(const char* op,
                                  std::initializer_list<std::pair<const char*, const at::Tensor*>> all) {
  const at::Tensor* first = nullptr;
  for (const auto& [name, t] : all) {
    KVBENCH_CHECK(t->defined(), op, ": ", name, " is undefined");
    KVBENCH_CHECK(t->is_cuda(), op, ": ", name, " must be a CUDA tensor (for host-mapped memory pass its device_view), got ",
                  t->device().str());
    if (first == nullptr) first = t;
    KVBENCH_CHECK(t->device() == first->device(), op, ": ", name, " is on ", t->device().str(), " but the other inputs on ",
                  first->device().str());
  }
  return first->device();
}

void check_contiguous(const char* op, std::initializer_list<std::pair<const char*, const at::Tensor*>> tensors) {
  for (const auto& [name, t] : tensors)
    KVBENCH_CHECK(t->is_contiguous(), op, ": ", name, " must be contiguous (sizes ", t->sizes(), ", strides ",
                  t->strides(), ")");
}

void check_launch(const char* op, int status_code, const char* status_text) {
  KVBENCH_CHECK(status_code == 0, op, ": CUDA kernel launch failed: ", status_text);
}

void check_flag(const char* op, const at::Tensor& flag, const char* what) {
  KVBENCH_CHECK(flag.item<int>() == 0, op, ": ", what);
}

}  // namespace detail
}  // namespace cuda
}  // namespace kvbench
