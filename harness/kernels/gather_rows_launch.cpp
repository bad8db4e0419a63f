// SPDX-License-Identifier: Apache-2.0
// at::Tensor launcher of the row gather (gather_rows.cuh).
#include "harness/kernels/gather_rows.h"
#include "harness/kernels/gather_rows_tensor_args.h"
#include "harness/kernels/ops_cuda.h"
#include "harness/kernels/ops_checks.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace kvbench {
namespace cuda {

int64_t gather_rows_cuda(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out, bool check_indices) {
  const char* op = "gather_rows";
  ops_detail::check_gather_rows(src, index, out);
  const at::Device device = detail::check_same_cuda_device(op, {{"src", &src}, {"index", &index}, {"out", &out}});
  detail::check_contiguous(op, {{"index", &index}});
  const int64_t elem = static_cast<int64_t>(src.element_size());
  const int64_t bytes = out.numel() * elem;
  if (out.numel() == 0) return bytes;
  const c10::cuda::CUDAGuard guard(device);
  at::Tensor flag;
  kernels::GatherRowsArgs a = kernels::gather_rows_args(src, index, out);
  if (check_indices) {
    flag = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(device));
    a.bad_index = flag.data_ptr<int>();
  }
  const cudaError_t status = kernels::launch_gather_rows(a, c10::cuda::getCurrentCUDAStream(device.index()));
  detail::check_launch(op, static_cast<int>(status), cudaGetErrorString(status));
  if (check_indices)
    detail::check_flag(op, flag, ("index values must lie in [0, " + std::to_string(src.size(2)) + ")").c_str());
  return bytes;
}

}  // namespace cuda
}  // namespace kvbench
