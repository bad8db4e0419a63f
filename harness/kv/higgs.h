// SPDX-License-Identifier: Apache-2.0
// HIGGS vector quantizer (../shared/docs/methods.md 1.8): per group of g channels, an L2-norm scale and an
// unnormalized Sylvester Hadamard rotation, then each D-dim sub-vector is replaced by the index of
// its nearest point of an EDEN grid [N, D] (N = 256 -> uint8 codes). Used by YAKV for 2-bit
// landmarks (D4/N256) and 4-bit keys/values (D2/N256). Also owns the EDEN grid files.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace kvbench {

// FORMAT CONTRACT (shared with the CUDA kernels, harness/kernels; do not change):
//   rows x in R^C (last dim). C is zero-padded to C_pad, a multiple of `group` (g, a power of two).
//   Per group j of g channels:
//     scale_j = ||x_j||_2                                     float32
//     y       = H_g x_j / scale_j  (y = 0 when scale_j == 0)  H_g unnormalized Sylvester Hadamard:
//               H_1 = [1], H_2k = [[H_k, H_k], [H_k, -H_k]]; no random sign flips
//     y is split into g/D consecutive D-dim sub-vectors u; code(u) = argmax_c (2 u.G_c - ||G_c||^2),
//     ties -> lowest c.
//   codes  uint8   [..., C_pad / D]   (sub-vectors in channel order)
//   scales float32 [..., C_pad / g]
//   dequantize: x^_j = H_g (G[code] * scale_j) / g, concatenated over groups and cropped to C.
// Arithmetic (what makes two implementations agree bit for bit): inputs are rounded to float32;
// the norm, H_g x_j / scale_j, the scores and the dequantized H_g (G * scale) / g are evaluated in
// float64 from float32 operands and rounded to float32 once (scale, y, output). Sums of <= g float32
// values are then exact or nearly so, so summation order does not change the float32 results.
struct HiggsConfig {
  int64_t grid_dim = 4;     // D
  int64_t grid_size = 256;  // N (<= 256: codes are uint8)
  int64_t group = 128;      // g, Hadamard group; power of two, multiple of D
};

// An EDEN grid: N points in R^D minimizing E||z - nearest point||^2 for z ~ N(0, I_D).
struct HiggsGrid {
  at::Tensor points;          // [N, D] float32, CPU
  double expected_mse = 0;    // per-coordinate MSE for N(0, 1) data, estimated at generation
  std::string source;         // file it was read from
};

// Reads a grid file written by scripts/gen_higgs_grids.py (JSON: format "kvbench-higgs-grid",
// dim, size, expected_mse, points). Throws kvbench::Error(kInput) naming the file and field.
HiggsGrid load_higgs_grid(const std::string& path);
// Path of the shipped grid EDEN{dim}-{size}.json (harness/kv/higgs_grids/ in the source tree).
std::string higgs_grid_path(int64_t dim, int64_t size);
// The shipped grid, loaded once per (dim, size) and cached. Throws kInput when it is missing.
const HiggsGrid& shipped_higgs_grid(int64_t dim, int64_t size);

// Quantized rows: codes + scales as in the contract, plus the unpadded channel count.
struct HiggsCodes {
  at::Tensor codes;   // uint8 [..., C_pad / D]
  at::Tensor scales;  // float32 [..., C_pad / g]
  int64_t channels = 0;  // C
  // Bytes of codes + scales.
  int64_t nbytes() const;
};

class HiggsQuantizer {
 public:
  // `grid` [N, D] float32 must match config.grid_size/grid_dim.
  HiggsQuantizer(const HiggsConfig& config, const at::Tensor& grid);
  // The shipped grid for config.grid_dim/grid_size.
  explicit HiggsQuantizer(const HiggsConfig& config);

  const HiggsConfig& config() const { return config_; }
  const at::Tensor& grid() const { return grid_; }  // [N, D] float32 on the device last used

  // x [..., C] (any floating dtype, any device) -> codes/scales on x's device.
  HiggsCodes quantize(const at::Tensor& x) const;
  // -> float32 [..., C] on the codes' device.
  at::Tensor dequantize(const HiggsCodes& q) const;
  // dequantize(quantize(x)) cast back to x's dtype.
  at::Tensor quantize_dequantize(const at::Tensor& x) const;

  // Bytes per row of C channels (codes + scales).
  int64_t row_bytes(int64_t channels) const;
  int64_t padded_channels(int64_t channels) const;

 private:
  const at::Tensor& grid_on(const at::Device& device) const;
  HiggsConfig config_;
  at::Tensor grid_;            // [N, D] float32 CPU
  mutable at::Tensor grid_device_;   // cached copy on the last non-CPU device
};

// Straightforward implementations of the contract (explicit Hadamard matrix, scalar loops over
// rows, groups, sub-vectors and grid points; CPU only, slow): the test oracle for the fast path.
HiggsCodes higgs_quantize_reference(const at::Tensor& x, const HiggsConfig& config,
                                    const at::Tensor& grid);
at::Tensor higgs_dequantize_reference(const HiggsCodes& q, const HiggsConfig& config,
                                      const at::Tensor& grid);

// Fast Walsh-Hadamard transform (unnormalized) along the last dim, whose size must be a power of
// two; any floating dtype, computed in that dtype. Exposed for tests and kernels' references.
at::Tensor hadamard_transform(const at::Tensor& x);

}  // namespace kvbench
