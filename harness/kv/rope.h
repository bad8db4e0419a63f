// SPDX-License-Identifier: Apache-2.0
// Rotary position embedding (RoPE) in the Hugging Face "rotate half" layout: default frequencies,
// Llama-3, linear, dynamic-NTK or YaRN scaling (YaRN also scales cos/sin by its attention factor;
// dynamic NTK derives its frequencies from the largest position of each call). cos/sin are computed in fp32 from integer positions and cast to the
// activation dtype, exactly as transformers does, so any position (e.g. a KV method re-applying RoPE
// to gathered pre-RoPE keys at their original positions) can be rotated on demand.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>

namespace kvbench {

struct RopeConfig {
  // "default", "llama3", "linear", "dynamic" (dynamic NTK) or "yarn", as transformers'
  // modeling_rope_utils names them.
  std::string type = "default";
  double theta = 10000.0;
  double factor = 1.0;                         // llama3, linear, dynamic, yarn
  // llama3 scaling (type == "llama3")
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;  // llama3, yarn: the pretraining window
  // dynamic NTK: the window past which the base grows with the sequence (config max_position_embeddings)
  int64_t max_position_embeddings = 0;
  // yarn: cos/sin are multiplied by attention_factor; the ramp between beta_fast and beta_slow
  // rotations (floored/ceiled when truncate) blends interpolated and extrapolated frequencies.
  double attention_factor = 1.0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  bool truncate = true;
};

class Rope {
 public:
  Rope(const RopeConfig& config, int64_t head_dim, at::Device device);

  // [head_dim/2] fp32; for dynamic NTK, the frequencies within max_position_embeddings.
  const at::Tensor& inv_freq() const { return inv_freq_; }
  // cos/sin are multiplied by this (YaRN's attention factor; 1 otherwise).
  double attention_scaling() const { return attention_scaling_; }
  int64_t head_dim() const { return head_dim_; }
  // positions [B, T] int64 -> cos, sin [B, T, head_dim] in `dtype`.
  std::pair<at::Tensor, at::Tensor> cos_sin(const at::Tensor& positions, at::ScalarType dtype) const;
  // x [B, H, T, head_dim] rotated at positions [B, T] (cos/sin broadcast over heads).
  at::Tensor apply(const at::Tensor& x, const at::Tensor& positions) const;
  // Same with precomputed cos/sin [B, T, head_dim] (from cos_sin with x's dtype).
  static at::Tensor apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

 private:
  // The frequencies a call at `positions` uses (differs from inv_freq_ only for dynamic NTK).
  at::Tensor inv_freq_for(const at::Tensor& positions) const;

  RopeConfig config_;
  at::Tensor inv_freq_;
  int64_t head_dim_;
  double attention_scaling_ = 1.0;
};

}  // namespace kvbench
