// SPDX-License-Identifier: Apache-2.0
// The fused HIGGS landmark scoring kernel's arguments (plain data, no CUDA or torch headers), shared
// by the launcher (landmark_scores.h) and the kernel's per-element code (kernel_math.h). Shapes and
// the HIGGS format: harness/kv/ops.h `higgs_landmark_scores`. All arrays contiguous, one device.
#pragma once

#include <cstdint>

namespace kvbench {
namespace kernels {

struct LandmarkScoresArgs {
  const float* query = nullptr;     // [B, Hkv, Gq, d] float32
  const uint8_t* codes = nullptr;   // [B, n, codes_per_row] grid indices
  const float* scales = nullptr;    // [B, n, groups_per_row] per-group L2 scales
  const float* grid = nullptr;      // [256, grid_dim]
  float* query_hadamard = nullptr;  // scratch [B, Hkv, Gq, width], width = max(group, head_dim)
  float* scores = nullptr;          // [B, Hkv, Gq, n]
  int64_t batch = 0, n = 0;
  int64_t num_kv_heads = 0, q_rows = 0, head_dim = 0;
  int64_t group = 0, grid_dim = 0;  // group: power of two, multiple of grid_dim, multiple or divisor of head_dim
  int64_t codes_per_row = 0, groups_per_row = 0;
};

// Largest grid dimension D the kernel takes (the grid lives in shared memory: 256 * D floats).
constexpr int64_t kLandmarkScoresMaxGridDim = 16;

}  // namespace kernels
}  // namespace kvbench
