// SPDX-License-Identifier: Apache-2.0
// Rotary position embedding (RoPE) in the Hugging Face "rotate half" layout: default frequencies or
// Llama-3 frequency scaling. cos/sin are computed in fp32 from integer positions and cast to the
// activation dtype, exactly as transformers does, so any position (e.g. a KV method re-applying RoPE
// to gathered pre-RoPE keys at their original positions) can be rotated on demand.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>

namespace kvbench {

struct RopeConfig {
  std::string type = "default";      // "default" or "llama3"
  double theta = 10000.0;
  // llama3 scaling (type == "llama3")
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

class Rope {
 public:
  Rope(const RopeConfig& config, int64_t head_dim, at::Device device);

  const at::Tensor& inv_freq() const { return inv_freq_; }   // [head_dim/2] fp32
  int64_t head_dim() const { return head_dim_; }
  // positions [B, T] int64 -> cos, sin [B, T, head_dim] in `dtype`.
  std::pair<at::Tensor, at::Tensor> cos_sin(const at::Tensor& positions, at::ScalarType dtype) const;
  // x [B, H, T, head_dim] rotated at positions [B, T] (cos/sin broadcast over heads).
  at::Tensor apply(const at::Tensor& x, const at::Tensor& positions) const;
  // Same with precomputed cos/sin [B, T, head_dim] (from cos_sin with x's dtype).
  static at::Tensor apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

 private:
  at::Tensor inv_freq_;
  int64_t head_dim_;
};

}  // namespace kvbench
