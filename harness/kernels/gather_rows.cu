// SPDX-License-Identifier: Apache-2.0
// Vector-width choice and launch of the row gather (gather_rows.cuh).
#include "harness/kernels/gather_rows.cuh"

namespace kvbench {
namespace kernels {

int gather_rows_vector_bytes(const GatherRowsArgs& a) {
  const int64_t values[] = {a.row_bytes,    a.src_stride_b, a.src_stride_h, a.src_stride_s,
                            a.out_stride_b, a.out_stride_h, a.out_stride_k,
                            static_cast<int64_t>(reinterpret_cast<uintptr_t>(a.src)),
                            static_cast<int64_t>(reinterpret_cast<uintptr_t>(a.out))};
  for (int bytes = 16; bytes > 1; bytes /= 2) {
    bool ok = true;
    for (int64_t v : values) ok = ok && v % bytes == 0;
    if (ok) return bytes;
  }
  return 1;
}

cudaError_t launch_gather_rows(const GatherRowsArgs& a, cudaStream_t stream) {
  if (a.batch * a.heads * a.k == 0 || a.row_bytes == 0) return cudaSuccess;
  const int vec = gather_rows_vector_bytes(a);
  const int64_t total = a.batch * a.heads * a.k * (a.row_bytes / vec);
  constexpr int kThreads = 256;
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
