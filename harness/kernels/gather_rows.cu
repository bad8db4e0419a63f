// SPDX-License-Identifier: Apache-2.0
// Launch of the row gather (gather_rows.cuh) with the vector width of gather_rows_vector_bytes.
#include "harness/kernels/gather_rows.cuh"

namespace kvbench {
namespace kernels {

cudaError_t launch_gather_rows(const GatherRowsArgs& a, cudaStream_t stream) {
  if (a.batch * a.heads * a.k == 0 || a.row_bytes == 0) return cudaSuccess;
  const int vec = gather_rows_vector_bytes(a);
  const int64_t total = a.batch * a.heads * a.k * (a.row_bytes / vec);
  constexpr int kThreads = 256;  // == gather_rows_kernel's launch bound
  const int64_t needed = (total + kThreads - 1) / kThreads;
  const unsigned blocks = static_cast<unsigned>(needed < 65535 ? needed : 65535);
  switch (vec) {
    case 16: gather_rows_kernel<uint4><<<blocks, kThreads, 0, stream>>>(a); break;
    case 8: gather_rows_kernel<uint2><<<blocks, kThreads, 0, stream>>>(a); break;
    case 4: gather_rows_kernel<uint32_t><<<blocks, kThreads, 0, stream>>>(a); break;
    case 2: gather_rows_kernel<uint16_t><<<blocks, kThreads, 0, stream>>>(a); break;
    default: gather_rows_kernel<uint8_t><<<blocks, kThreads, 0, stream>>>(a); break;
  }
  return cudaGetLastError();
}

}  // namespace kernels
}  // namespace kvbench
