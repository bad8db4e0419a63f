// SPDX-License-Identifier: Apache-2.0
// Launch configuration of the fused HIGGS landmark scoring (landmark_scores.cuh).
#include "harness/kernels/landmark_scores.cuh"

namespace kvbench {
namespace kernels {

cudaError_t launch_landmark_scores(const LandmarkScoresArgs& args, cudaStream_t stream) {
  const int64_t width = args.group > args.head_dim ? args.group : args.head_dim;
  const int64_t transformed = args.batch * args.num_kv_heads * args.q_rows * width;
  if (transformed == 0 || args.n == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const int64_t query_blocks = (transformed + kThreads - 1) / kThreads;
  hadamard_query_kernel<<<static_cast<unsigned>(query_blocks < 65535 ? query_blocks : 65535), kThreads, 0,
                          stream>>>(args);
  constexpr int kWarps = 8;
  const int64_t tiles = (args.n + kWarps - 1) / kWarps;
  const dim3 grid(static_cast<unsigned>(tiles < (1 << 30) ? tiles : (1 << 30)), static_cast<unsigned>(args.batch));
  const size_t shared = static_cast<size_t>(256 * args.grid_dim) * sizeof(float);
  landmark_scores_kernel<kWarps><<<grid, kWarps * 32, shared, stream>>>(args);
  return cudaGetLastError();
}

}  // namespace kernels
}  // namespace kvbench
