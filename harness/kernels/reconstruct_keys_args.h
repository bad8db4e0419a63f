// SPDX-License-Identifier: Apache-2.0
// The ShadowKV key reconstruction kernel's arguments and launch-shape limits (plain data, no CUDA or
// torch headers), shared by the launcher (reconstruct_keys.h) and the kernel's per-element code
// (kernel_math.h). Semantics: harness/kv/ops.h `shadowkv_reconstruct_keys`. All arrays contiguous.
#pragma once

#include <cstdint>

namespace kvbench {
namespace kernels {

enum class KeyDtype { kFloat32, kBFloat16, kFloat16 };

struct ReconstructKeysArgs {
  const void* u = nullptr;             // [B, S, r]
  const void* sv = nullptr;            // [B, Hkv, r, d]
  const int64_t* positions = nullptr;  // [B, Hkv, n], values in [0, S)
  const void* cos = nullptr;           // [B, Hkv, n, d]
  const void* sin = nullptr;           // [B, Hkv, n, d]
  void* keys = nullptr;                // [B, Hkv, n, d]
  int* bad_position = nullptr;         // optional device flag, set to 1 when a position is out of range
  KeyDtype dtype = KeyDtype::kFloat32;
  int64_t batch = 0, seq = 0, rank = 0, heads = 0, n = 0, head_dim = 0;
};

// Limits of the kernel's launch shape: head_dim / 2 threads per block, the U rows of a tile in
// shared memory, batch and heads as grid dimensions.
constexpr int64_t kReconstructMaxHeadDim = 2048;
constexpr int64_t kReconstructMaxRank = 1024;
constexpr int64_t kReconstructMaxGridYZ = 65535;

}  // namespace kernels
}  // namespace kvbench
