// SPDX-License-Identifier: Apache-2.0
// KIVI's asymmetric group quantization of a KV cache (methods.md section 6; reference
// jy-yuan/KIVI quant/new_pack.py): keys per channel in groups of `group` consecutive tokens, values
// per token in groups of `group` consecutive channels. Per group: zero = min, scale = (max - min) /
// (2^bits - 1), code = round(clamp((x - zero) / scale, 0, 2^bits - 1)) (round half to even), and
// x^ = code * scale + zero, each step one IEEE operation in x's dtype in that order, so every
// implementation that follows it agrees bit for bit. Codes are packed 32 / bits per int32 word,
// code i of a word at bits [i * bits, (i + 1) * bits), as the reference packs them.
// LibTorch only (any device); the attention on a cache held this way is kivi_attention.h.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace kvbench {

// One quantized tensor: packed codes plus a scale and a zero point (the group minimum) per group,
// scale and zero in the input's dtype. A constant group (max == min) has scale 0: its codes are 0
// and it dequantizes exactly to its value (the reference divides 0 by 0 there; see kivi_quant.cpp).
struct KiviQuantized {
  at::Tensor codes;  // int32, packed (layouts below)
  at::Tensor scale;
  at::Tensor zero;
};

// Bits per code that pack whole codes into an int32 word (2, 4 or 8); anything else is an Error.
int64_t kivi_codes_per_word(int64_t bits);

// Keys x [B, H, n, d] with n % group == 0 and group % (32 / bits) == 0: one group per channel and
// run of `group` tokens. codes [B, H, n / group, d * group * bits / 32]: for token group g and
// channel c, word w (of group * bits / 32) holds tokens g * group + w * (32 / bits) + i, i < 32 / bits.
// scale, zero [B, H, n / group, d]. (The reference keeps the same words as [B, H, d, n * bits / 32];
// kivi_key_codes_reference_layout converts.)
KiviQuantized kivi_quantize_keys(const at::Tensor& keys, int64_t group, int64_t bits);
// Inverse: [B, H, groups * group, d] in scale's dtype.
at::Tensor kivi_dequantize_keys(const KiviQuantized& q, int64_t group, int64_t bits);
// codes [B, H, G, d * group * bits / 32] -> the reference's [B, H, d, G * group * bits / 32].
at::Tensor kivi_key_codes_reference_layout(const at::Tensor& codes, int64_t head_dim);

// Values x [B, H, n, d] with d % group == 0 and group % (32 / bits) == 0: one group per token and
// run of `group` channels. codes [B, H, n, d * bits / 32] (word w holds channels w * (32 / bits) + i,
// the reference's layout); scale, zero [B, H, n, d / group].
KiviQuantized kivi_quantize_values(const at::Tensor& values, int64_t group, int64_t bits);
at::Tensor kivi_dequantize_values(const KiviQuantized& q, int64_t group, int64_t bits);

}  // namespace kvbench
