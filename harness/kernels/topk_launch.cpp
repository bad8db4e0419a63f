// SPDX-License-Identifier: Apache-2.0
// at::Tensor launcher of the per-row radix-select top-k (topk.cuh).
#include "harness/kernels/ops_cuda.h"
#include "harness/kernels/topk.h"
#include "harness/kernels/ops_checks.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <limits>

namespace kvbench {
namespace cuda {

at::Tensor topk_per_head_cuda(const at::Tensor& scores, int64_t k) {
  const char* op = "topk_per_head";
  ops_detail::check_topk(scores, k);
  const at::Device device = detail::check_same_cuda_device(op, {{"scores", &scores}});
  detail::check_contiguous(op, {{"scores", &scores}});
  const int64_t rows = scores.size(0) * scores.size(1);
  const int64_t n = scores.size(2);
  KVBENCH_CHECK(n < std::numeric_limits<int32_t>::max(), op, ": the CUDA kernel takes n < 2^31, got ", n);
  KVBENCH_CHECK(rows < std::numeric_limits<int32_t>::max(), op, ": the CUDA kernel takes B * H < 2^31, got ", rows);
  const c10::cuda::CUDAGuard guard(device);
  at::Tensor indices = at::empty({scores.size(0), scores.size(1), k}, scores.options().dtype(at::kLong));
  kernels::TopkArgs a;
  a.scores = scores.data_ptr<float>();
  a.indices = indices.data_ptr<int64_t>();
  a.rows = rows;
  a.n = n;
  a.k = k;
  const cudaError_t status = kernels::launch_topk(a, c10::cuda::getCurrentCUDAStream(device.index()));
  detail::check_launch(op, static_cast<int>(status), cudaGetErrorString(status));
  return indices;
}

}  // namespace cuda
}  // namespace kvbench
