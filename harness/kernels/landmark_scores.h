// SPDX-License-Identifier: Apache-2.0
// Raw-pointer launcher of the fused HIGGS landmark scoring kernel (landmark_scores.cuh); no torch.
// The arguments are in landmark_scores_args.h (no CUDA headers). Shapes and the HIGGS format:
// harness/kv/ops.h `higgs_landmark_scores`.
#pragma once

#include "harness/kernels/landmark_scores_args.h"

#include <cuda_runtime_api.h>

namespace kvbench {
namespace kernels {

// Launches the query transform and the scoring kernel on `stream`; returns the launch status.
cudaError_t launch_landmark_scores(const LandmarkScoresArgs& args, cudaStream_t stream);

}  // namespace kernels
}  // namespace kvbench
