// SPDX-License-Identifier: Apache-2.0
// Launch configuration of the KIVI attention kernel (kivi_attention.cuh): one block per query row.
#include "harness/kernels/kivi_attention.cuh"

namespace kvbench {
namespace kernels {

cudaError_t launch_kivi_attention(const KiviAttentionArgs& a, cudaStream_t stream) {
  const int64_t rows = a.batch * a.q_heads * a.t;
  if (rows == 0 || a.head_dim == 0) return cudaSuccess;
  const unsigned blocks = static_cast<unsigned>(rows);
  const size_t shared = static_cast<size_t>(a.head_dim) * sizeof(float);
  switch (a.dtype) {
    case KiviDtype::kFloat32:
      kivi_attention_kernel<float><<<blocks, kKiviAttentionThreads, shared, stream>>>(a);
      break;
    case KiviDtype::kBFloat16:
      kivi_attention_kernel<__nv_bfloat16><<<blocks, kKiviAttentionThreads, shared, stream>>>(a);
      break;
    case KiviDtype::kFloat16:
      kivi_attention_kernel<__half><<<blocks, kKiviAttentionThreads, shared, stream>>>(a);
      break;
  }
  return cudaGetLastError();
}

}  // namespace kernels
}  // namespace kvbench
