// SPDX-License-Identifier: Apache-2.0
// The row gather kernel's arguments for at::Tensor views: the launcher (gather_rows_launch.cpp) and
// the CPU emulation test (tests/unit/test_kv_kernels_emulated.cpp) build them with this one function.
// Header-only and free of CUDA headers, so the test needs neither nvcc nor the CUDA library.
#pragma once

#include "harness/kernels/gather_rows_args.h"

#include <ATen/ATen.h>

#include <cstdint>

namespace kvbench {
namespace kernels {

// For src [B, H, S, W], index [B, H, k] (int64, contiguous), out [B, H, k, W], already checked by
// ops_detail::check_gather_rows: data pointers, sizes, and strides in bytes; bad_index unset.
inline GatherRowsArgs gather_rows_args(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out) {
  const int64_t elem = static_cast<int64_t>(src.element_size());
  GatherRowsArgs a;
  a.src = src.data_ptr();
  a.out = out.data_ptr();
  a.index = index.data_ptr<int64_t>();
  a.batch = src.size(0);
  a.heads = src.size(1);
  a.src_rows = src.size(2);
  a.k = index.size(2);
  a.row_bytes = src.size(3) * elem;
  a.src_stride_b = src.stride(0) * elem;
  a.src_stride_h = src.stride(1) * elem;
  a.src_stride_s = src.stride(2) * elem;
  a.out_stride_b = out.stride(0) * elem;
  a.out_stride_h = out.stride(1) * elem;
  a.out_stride_k = out.stride(2) * elem;
  return a;
}

}  // namespace kernels
}  // namespace kvbench
