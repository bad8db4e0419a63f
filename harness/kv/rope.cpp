// SPDX-License-Identifier: Apache-2.0
// RoPE frequencies (default, llama3, linear, dynamic NTK, YaRN, following transformers'
// modeling_rope_utils formula for formula and dtype for dtype) and rotation.
#include "harness/kv/rope.h"

#include <algorithm>
#include <cmath>

namespace kvbench {
namespace {

at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// 2i/d for i < d/2, fp32 (transformers: arange(0, dim, 2, int64).float() / dim).
at::Tensor exponents(int64_t head_dim) {
  return at::arange(0, head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(head_dim);
}

// Llama 3: long wavelengths divided by `factor`, short ones kept, the band between interpolated.
at::Tensor llama3_inv_freq(const RopeConfig& config, const at::Tensor& inv_freq) {
  const double factor = config.factor;
  const double low = config.low_freq_factor;
  const double high = config.high_freq_factor;
  const double old_len = static_cast<double>(config.original_max_position_embeddings);
  const double low_freq_wavelen = old_len / low;
  const double high_freq_wavelen = old_len / high;
  at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq);
  at::Tensor smooth = (old_len / wavelen - low) / (high - low);
  at::Tensor smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
  at::Tensor is_medium =
      at::logical_not(wavelen < high_freq_wavelen).logical_and(at::logical_not(wavelen > low_freq_wavelen));
  return at::where(is_medium, smoothed, scaled);
}

// YaRN: extrapolated frequencies (1/theta^(2i/d)) for the dimensions that rotate more than beta_fast
// times over the pretraining window, interpolated ones (divided by factor) below beta_slow rotations,
// a linear ramp between (its ends floored/ceiled when truncate).
at::Tensor yarn_inv_freq(const RopeConfig& config, int64_t head_dim) {
  const double dim = static_cast<double>(head_dim);
  const double base = config.theta;
  const double window = static_cast<double>(config.original_max_position_embeddings);
  auto correction_dim = [&](double rotations) {
    return dim * std::log(window / (rotations * 2 * M_PI)) / (2 * std::log(base));
  };
  double low = correction_dim(config.beta_fast);
  double high = correction_dim(config.beta_slow);
  if (config.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, dim - 1);
  if (low == high) high += 0.001;  // transformers' guard against a zero-width ramp
  at::Tensor pos_freqs = at::pow(base, exponents(head_dim));
  at::Tensor extrapolation = 1.0 / pos_freqs;
  at::Tensor interpolation = 1.0 / (config.factor * pos_freqs);
  at::Tensor ramp = ((at::arange(head_dim / 2, at::kFloat) - low) / (high - low)).clamp(0, 1);
  at::Tensor extrapolation_weight = 1 - ramp;
  return interpolation * (1 - extrapolation_weight) + extrapolation * extrapolation_weight;
}

}  // namespace

Rope::Rope(const RopeConfig& config, int64_t head_dim, at::Device device) : config_(config), head_dim_(head_dim) {
  // inv_freq = 1 / theta^(2i/d), in fp32 like transformers.
  at::Tensor inv_freq = at::reciprocal(at::pow(config.theta, exponents(head_dim)));
  if (config.type == "llama3") inv_freq = llama3_inv_freq(config, inv_freq);
  else if (config.type == "linear") inv_freq = inv_freq / config.factor;
  else if (config.type == "yarn") inv_freq = yarn_inv_freq(config, head_dim);
  if (config.type == "yarn") attention_scaling_ = config.attention_factor;
  inv_freq_ = inv_freq.to(device);
}

at::Tensor Rope::inv_freq_for(const at::Tensor& positions) const {
  if (config_.type != "dynamic" || positions.numel() == 0) return inv_freq_;
  // Dynamic NTK (transformers' dynamic_rope_update): the sequence length of the call is the largest
  // position + 1; past max_position_embeddings the base grows to
  //   theta * (factor * len / max_positions - (factor - 1))^(d / (d - 2)),
  // computed, like transformers, on a tensor length (so in fp32). Within the window: the default
  // frequencies. Each forward call (prefill chunk or decode step) uses its own length, which is what
  // transformers' growing cache of frequencies gives within one generation.
  const int64_t length = positions.max().item<int64_t>() + 1;
  const int64_t window = config_.max_position_embeddings;
  if (length <= window) return inv_freq_;
  const double d = static_cast<double>(head_dim_);
  at::Tensor len = at::scalar_tensor(length, at::kLong);
  at::Tensor base = config_.theta * at::pow((config_.factor * len / window) - (config_.factor - 1), d / (d - 2));
  return at::reciprocal(at::pow(base, exponents(head_dim_))).to(inv_freq_.device());
}

std::pair<at::Tensor, at::Tensor> Rope::cos_sin(const at::Tensor& positions, at::ScalarType dtype) const {
  // freqs[b, t, i] = position[b, t] * inv_freq[i] (fp32), duplicated to the full head_dim.
  at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq_for(positions);
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  if (attention_scaling_ == 1.0) return {emb.cos().to(dtype), emb.sin().to(dtype)};
  return {(emb.cos() * attention_scaling_).to(dtype), (emb.sin() * attention_scaling_).to(dtype)};
}

at::Tensor Rope::apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  at::Tensor c = cos.unsqueeze(1);
  at::Tensor s = sin.unsqueeze(1);
  return x * c + rotate_half(x) * s;
}

at::Tensor Rope::apply(const at::Tensor& x, const at::Tensor& positions) const {
  auto cs = cos_sin(positions, x.scalar_type());
  return apply(x, cs.first, cs.second);
}

}  // namespace kvbench
