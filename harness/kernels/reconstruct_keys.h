// SPDX-License-Identifier: Apache-2.0
// Raw-pointer launcher of the ShadowKV key reconstruction kernel (reconstruct_keys.cuh); no torch.
// The arguments and launch limits are in reconstruct_keys_args.h (no CUDA headers). Semantics:
// harness/kv/ops.h `shadowkv_reconstruct_keys`.
#pragma once

#include "harness/kernels/reconstruct_keys_args.h"

#include <cuda_runtime_api.h>

namespace kvbench {
namespace kernels {

cudaError_t launch_reconstruct_keys(const ReconstructKeysArgs& args, cudaStream_t stream);

}  // namespace kernels
}  // namespace kvbench
