// SPDX-License-Identifier: Apache-2.0
// RoPE frequencies (default / llama3) and rotation.
#include "harness/kv/rope.h"

#include <cmath>

namespace kvbench {
namespace {

at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

Rope::Rope(const RopeConfig& config, int64_t head_dim, at::Device device) : head_dim_(head_dim) {
  // inv_freq = 1 / theta^(2i/d), in fp32 like transformers.
  at::Tensor exponent = at::arange(0, head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(head_dim);
  at::Tensor inv_freq = at::reciprocal(at::pow(config.theta, exponent));
  if (config.type == "llama3") {
    const double factor = config.factor;
    const double low = config.low_freq_factor;
    const double high = config.high_freq_factor;
    const double old_len = static_cast<double>(config.original_max_position_embeddings);
    const double low_freq_wavelen = old_len / low;
    const double high_freq_wavelen = old_len / high;
    at::Tensor wavelen = 2 * M_PI / inv_freq;
    // Long wavelengths are divided by `factor`, short ones kept, the band between interpolated.
    at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq);
    at::Tensor smooth = (old_len / wavelen - low) / (high - low);
    at::Tensor smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
    at::Tensor is_medium = at::logical_not(wavelen < high_freq_wavelen)
                               .logical_and(at::logical_not(wavelen > low_freq_wavelen));
    inv_freq = at::where(is_medium, smoothed, scaled);
  }
  inv_freq_ = inv_freq.to(device);
}

std::pair<at::Tensor, at::Tensor> Rope::cos_sin(const at::Tensor& positions, at::ScalarType dtype) const {
  // freqs[b, t, i] = position[b, t] * inv_freq[i] (fp32), duplicated to the full head_dim.
  at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq_;
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
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
