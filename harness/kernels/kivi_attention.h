// SPDX-License-Identifier: Apache-2.0
// Raw-pointer launcher of the KIVI attention kernel (kivi_attention.cuh); no torch. Arguments:
// kivi_attention_args.h. Semantics: harness/kv/kivi_attention.h `kivi_attention`.
#pragma once

#include "harness/kernels/kivi_attention_args.h"

#include <cuda_runtime_api.h>

namespace kvbench {
namespace kernels {

cudaError_t launch_kivi_attention(const KiviAttentionArgs& args, cudaStream_t stream);

}  // namespace kernels
}  // namespace kvbench
