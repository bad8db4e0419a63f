// SPDX-License-Identifier: Apache-2.0
// Raw-pointer launcher of the row gather kernel (gather_rows.cuh); no torch. The arguments and the
// vector-width rule are in gather_rows_args.h (no CUDA headers). Semantics: harness/kv/ops.h `gather_rows`.
#pragma once

#include "harness/kernels/gather_rows_args.h"

#include <cuda_runtime_api.h>

namespace kvbench {
namespace kernels {

// Copies with vectors of gather_rows_vector_bytes(args) bytes; returns the launch status.
cudaError_t launch_gather_rows(const GatherRowsArgs& args, cudaStream_t stream);

}  // namespace kernels
}  // namespace kvbench
