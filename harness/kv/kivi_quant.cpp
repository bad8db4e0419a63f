// SPDX-License-Identifier: Apache-2.0
// KIVI group quantization, packing and dequantization (harness/kv/kivi_quant.h), in the reference's
// order of operations (quant/new_pack.py quant_and_pack_kcache / quant_and_pack_vcache,
// unpack_and_dequant_kcache / _vcache, pack_tensor / unpack_tensor).
// Difference: a constant group (scale 0) makes the reference compute 0 / 0 = NaN and cast it to
// int32 (undefined, and the garbage leaks into the neighbouring codes of its word when packed); here
// its codes are 0, so it dequantizes to 0 * 0 + min = its value.
#include "harness/kv/kivi_quant.h"

#include "harness/error.h"

#include <sstream>
#include <string>
#include <vector>

namespace kvbench {
namespace {

std::string sizes_str(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

void check_input(const char* op, const at::Tensor& x) {
  KVBENCH_CHECK(x.defined() && x.dim() == 4 && at::isFloatingType(x.scalar_type()), op,
                ": expected a floating-point [B, H, n, d] tensor, got ",
                x.defined() ? sizes_str(x) + " " + c10::toString(x.scalar_type()) : "undefined");
}

// Codes of x against per-group zero/scale (broadcast): round(clamp((x - zero) / scale, 0, max)),
// 0 where scale == 0; int32.
at::Tensor group_codes(const at::Tensor& x, const at::Tensor& zero, const at::Tensor& scale, int64_t max_code) {
  at::Tensor codes = ((x - zero) / scale).clamp_(0, max_code).round_();
  return at::where(scale > 0, codes, at::zeros({}, codes.options())).to(at::kInt);
}

// codes [..., words * per_word] int32 in [0, 2^bits) -> [..., words] int32, code i of a word at
// bits [i * bits, (i + 1) * bits). Packed in int64 (the top code of a word can reach bit 31) and
// narrowed with wraparound to the reference's int32 bit pattern.
at::Tensor pack_last_dim(const at::Tensor& codes, int64_t bits) {
  const int64_t per_word = 32 / bits;
  std::vector<int64_t> sizes = codes.sizes().vec();
  const int64_t words = sizes.back() / per_word;
  sizes.back() = words;
  sizes.push_back(per_word);
  at::Tensor shifts = at::arange(per_word, codes.options().dtype(at::kLong)) * bits;
  at::Tensor packed = at::bitwise_left_shift(codes.to(at::kLong).reshape(sizes), shifts).sum(-1);
  return packed.to(at::kInt);
}

// Inverse of pack_last_dim: [..., words] int32 -> [..., words * per_word] int32 codes.
at::Tensor unpack_last_dim(const at::Tensor& words, int64_t bits) {
  const int64_t per_word = 32 / bits;
  at::Tensor shifts = at::arange(per_word, words.options().dtype(at::kInt)) * bits;
  at::Tensor codes = at::bitwise_and(at::bitwise_right_shift(words.unsqueeze(-1), shifts), (1 << bits) - 1);
  std::vector<int64_t> sizes = words.sizes().vec();
  sizes.back() *= per_word;
  return codes.reshape(sizes);
}

}  // namespace

int64_t kivi_codes_per_word(int64_t bits) {
  KVBENCH_CHECK(bits == 2 || bits == 4 || bits == 8, "kivi: quantized codes take 2, 4 or 8 bits, got ", bits);
  return 32 / bits;
}

KiviQuantized kivi_quantize_keys(const at::Tensor& keys, int64_t group, int64_t bits) {
  check_input("kivi_quantize_keys", keys);
  const int64_t per_word = kivi_codes_per_word(bits);
  const int64_t b = keys.size(0), h = keys.size(1), n = keys.size(2), d = keys.size(3);
  KVBENCH_CHECK(group > 0 && n % group == 0 && group % per_word == 0, "kivi_quantize_keys: tokens (", n,
                ") must be a multiple of the group (", group, "), itself a multiple of 32 / bits = ", per_word);
  const int64_t groups = n / group;
  const int64_t max_code = (int64_t{1} << bits) - 1;
  KiviQuantized q;
  if (groups == 0) {
    q.codes = at::empty({b, h, 0, d * group / per_word}, keys.options().dtype(at::kInt));
    q.scale = at::empty({b, h, 0, d}, keys.options());
    q.zero = at::empty({b, h, 0, d}, keys.options());
    return q;
  }
  at::Tensor x = keys.reshape({b, h, groups, group, d});    // per channel: the group's tokens on dim 3
  at::Tensor zero = std::get<0>(x.min(3, /*keepdim=*/true));  // [B, H, G, 1, d]
  at::Tensor max = std::get<0>(x.max(3, /*keepdim=*/true));
  at::Tensor scale = (max - zero) / max_code;
  at::Tensor codes = group_codes(x, zero, scale, max_code);  // [B, H, G, group, d]
  q.codes = pack_last_dim(codes.transpose(3, 4), bits).reshape({b, h, groups, d * group / per_word});
  q.scale = scale.squeeze(3);
  q.zero = zero.squeeze(3);
  return q;
}

at::Tensor kivi_dequantize_keys(const KiviQuantized& q, int64_t group, int64_t bits) {
  const int64_t per_word = kivi_codes_per_word(bits);
  KVBENCH_CHECK(q.codes.defined() && q.codes.dim() == 4 && q.scale.dim() == 4, "kivi_dequantize_keys: bad codes ",
                q.codes.defined() ? sizes_str(q.codes) : "undefined");
  const int64_t b = q.codes.size(0), h = q.codes.size(1), groups = q.codes.size(2), d = q.scale.size(3);
  KVBENCH_CHECK(q.codes.size(3) == d * group / per_word, "kivi_dequantize_keys: codes ", sizes_str(q.codes),
                " do not hold d = ", d, " channels of ", group, " ", bits, "-bit codes");
  at::Tensor codes = unpack_last_dim(q.codes.view({b, h, groups, d, group / per_word}), bits)  // [B, H, G, d, group]
                         .transpose(3, 4)
                         .to(q.scale.scalar_type());
  return (codes * q.scale.unsqueeze(3) + q.zero.unsqueeze(3)).reshape({b, h, groups * group, d});
}

at::Tensor kivi_key_codes_reference_layout(const at::Tensor& codes, int64_t head_dim) {
  const int64_t b = codes.size(0), h = codes.size(1), groups = codes.size(2);
  const int64_t words = codes.size(3) / head_dim;  // per (group, channel)
  return codes.view({b, h, groups, head_dim, words}).permute({0, 1, 3, 2, 4}).reshape({b, h, head_dim, groups * words});
}

KiviQuantized kivi_quantize_values(const at::Tensor& values, int64_t group, int64_t bits) {
  check_input("kivi_quantize_values", values);
  const int64_t per_word = kivi_codes_per_word(bits);
  const int64_t b = values.size(0), h = values.size(1), n = values.size(2), d = values.size(3);
  KVBENCH_CHECK(group > 0 && d % group == 0 && group % per_word == 0, "kivi_quantize_values: head_dim (", d,
                ") must be a multiple of the group (", group, "), itself a multiple of 32 / bits = ", per_word);
  const int64_t max_code = (int64_t{1} << bits) - 1;
  KiviQuantized q;
  if (n == 0) {
    q.codes = at::empty({b, h, 0, d / per_word}, values.options().dtype(at::kInt));
    q.scale = at::empty({b, h, 0, d / group}, values.options());
    q.zero = at::empty({b, h, 0, d / group}, values.options());
    return q;
  }
  at::Tensor x = values.reshape({b, h, n, d / group, group});  // per token: the group's channels last
  at::Tensor zero = std::get<0>(x.min(-1, /*keepdim=*/true));
  at::Tensor max = std::get<0>(x.max(-1, /*keepdim=*/true));
  at::Tensor scale = (max - zero) / max_code;
  at::Tensor codes = group_codes(x, zero, scale, max_code).view({b, h, n, d});
  q.codes = pack_last_dim(codes, bits);
  q.scale = scale.squeeze(-1);
  q.zero = zero.squeeze(-1);
  return q;
}

at::Tensor kivi_dequantize_values(const KiviQuantized& q, int64_t group, int64_t bits) {
  const int64_t per_word = kivi_codes_per_word(bits);
  KVBENCH_CHECK(q.codes.defined() && q.codes.dim() == 4 && q.scale.dim() == 4,
                "kivi_dequantize_values: bad codes ", q.codes.defined() ? sizes_str(q.codes) : "undefined");
  const int64_t b = q.codes.size(0), h = q.codes.size(1), n = q.codes.size(2), d = q.codes.size(3) * per_word;
  KVBENCH_CHECK(q.scale.size(3) * group == d, "kivi_dequantize_values: scales ", sizes_str(q.scale),
                " do not match ", d, " channels in groups of ", group);
  at::Tensor codes = unpack_last_dim(q.codes, bits).view({b, h, n, d / group, group}).to(q.scale.scalar_type());
  return (codes * q.scale.unsqueeze(-1) + q.zero.unsqueeze(-1)).view({b, h, n, d});
}

}  // namespace kvbench
