// SPDX-License-Identifier: Apache-2.0
// Launch configuration of the per-row radix-select top-k (topk.cuh): one 512-thread block per row.
#include "harness/kernels/topk.cuh"

namespace kvbench {
namespace kernels {

cudaError_t launch_topk(const TopkArgs& args, cudaStream_t stream) {
  if (args.rows == 0 || args.k == 0) return cudaSuccess;
  constexpr int kThreads = 512;
  topk_rows_kernel<kThreads><<<static_cast<unsigned>(args.rows), kThreads, 0, stream>>>(args);
  return cudaGetLastError();
}

}  // namespace kernels
}  // namespace kvbench
