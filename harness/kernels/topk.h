// SPDX-License-Identifier: Apache-2.0
// Raw-pointer launcher of the per-row top-k kernel (topk.cuh); no torch. The arguments are in
// topk_args.h (no CUDA headers). Semantics and tie rule: harness/kv/ops.h `topk_per_head`.
#pragma once

#include "harness/kernels/topk_args.h"

#include <cuda_runtime_api.h>

namespace kvbench {
namespace kernels {

cudaError_t launch_topk(const TopkArgs& args, cudaStream_t stream);

}  // namespace kernels
}  // namespace kvbench
