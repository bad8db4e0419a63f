// SPDX-License-Identifier: Apache-2.0
// at::Tensor launcher of the fused HIGGS landmark scoring (landmark_scores.cuh).
#include "harness/kernels/landmark_scores.h"
#include "harness/kernels/ops_cuda.h"
#include "harness/kernels/ops_checks.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace kvbench {
namespace cuda {

at::Tensor higgs_landmark_scores_cuda(const at::Tensor& query, const at::Tensor& codes, const at::Tensor& scales,
                                      const at::Tensor& grid, int64_t group, int64_t num_kv_heads, int64_t head_dim) {
  const char* op = "higgs_landmark_scores";
  const auto s = ops_detail::check_landmark_scores(query, codes, scales, grid, group, num_kv_heads, head_dim);
  const at::Device device =
      detail::check_same_cuda_device(op, {{"query", &query}, {"codes", &codes}, {"scales", &scales}, {"grid", &grid}});
  detail::check_contiguous(op, {{"codes", &codes}, {"scales", &scales}, {"grid", &grid}});
  KVBENCH_CHECK(s.grid_dim <= kernels::kLandmarkScoresMaxGridDim, op, ": the CUDA kernel takes grids of dimension D <= ",
                kernels::kLandmarkScoresMaxGridDim, ", got ", s.grid_dim);
  KVBENCH_CHECK(s.batch <= 65535, op, ": the CUDA kernel takes batch <= 65535, got ", s.batch);
  const c10::cuda::CUDAGuard guard(device);
  // The query is small ([B, Hkv, Gq, d]); the kernel reads it as contiguous float32.
  const at::Tensor q = query.to(at::kFloat).contiguous();
  const auto fopts = at::TensorOptions().dtype(at::kFloat).device(device);
  at::Tensor scores = at::empty({s.batch, num_kv_heads, s.q_rows, s.n}, fopts);
  at::Tensor scratch = at::empty({s.batch, num_kv_heads, s.q_rows, s.width}, fopts);
  kernels::LandmarkScoresArgs a;
  a.query = q.data_ptr<float>();
  a.codes = codes.data_ptr<uint8_t>();
  a.scales = scales.data_ptr<float>();
  a.grid = grid.data_ptr<float>();
  a.query_hadamard = scratch.data_ptr<float>();
  a.scores = scores.data_ptr<float>();
  a.batch = s.batch;
  a.n = s.n;
  a.num_kv_heads = num_kv_heads;
  a.q_rows = s.q_rows;
  a.head_dim = head_dim;
  a.group = group;
  a.grid_dim = s.grid_dim;
  a.codes_per_row = s.codes_per_row;
  a.groups_per_row = s.groups_per_row;
  const cudaError_t status = kernels::launch_landmark_scores(a, c10::cuda::getCurrentCUDAStream(device.index()));
  detail::check_launch(op, static_cast<int>(status), cudaGetErrorString(status));
  return scores;
}

}  // namespace cuda
}  // namespace kvbench
