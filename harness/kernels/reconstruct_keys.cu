// SPDX-License-Identifier: Apache-2.0
// Launch configuration of the ShadowKV key reconstruction (reconstruct_keys.cuh).
#include "harness/kernels/reconstruct_keys.cuh"

namespace kvbench {
namespace kernels {

cudaError_t launch_reconstruct_keys(const ReconstructKeysArgs& a, cudaStream_t stream) {
  if (a.batch * a.heads * a.n == 0) return cudaSuccess;
  constexpr int kRows = 8;
  const dim3 grid(static_cast<unsigned>((a.n + kRows - 1) / kRows), static_cast<unsigned>(a.heads),
                  static_cast<unsigned>(a.batch));
  const unsigned threads = static_cast<unsigned>(a.head_dim / 2);
  const size_t shared = static_cast<size_t>(kRows * a.rank) * sizeof(float);
  switch (a.dtype) {
    case KeyDtype::kFloat32:
      reconstruct_keys_kernel<float, kRows><<<grid, threads, shared, stream>>>(a);
      break;
    case KeyDtype::kBFloat16:
      reconstruct_keys_kernel<__nv_bfloat16, kRows><<<grid, threads, shared, stream>>>(a);
      break;
    case KeyDtype::kFloat16:
      reconstruct_keys_kernel<__half, kRows><<<grid, threads, shared, stream>>>(a);
      break;
  }
  return cudaGetLastError();
}

}  // namespace kernels
}  // namespace kvbench
