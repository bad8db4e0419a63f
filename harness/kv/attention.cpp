// SPDX-License-Identifier: Apache-2.0
// Exact (dense) attention with causal/padding masking.
#include "harness/kv/attention.h"

namespace kvbench {

at::Tensor exact_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           int64_t q_offset, const at::Tensor& key_valid, double scale) {
  const int64_t t = q.size(2);
  const int64_t s = k.size(2);
  const bool gqa = q.size(1) != k.size(1);
  if (!key_valid.defined()) {
    // No padding: a single decode token sees every slot; a prompt starting at slot 0 is the
    // standard causal (top-left aligned) case.
    if (t == 1 && q_offset + 1 == s)
      return at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, scale, gqa);
    if (q_offset == 0 && t == s)
      return at::scaled_dot_product_attention(q, k, v, {}, 0.0, true, scale, gqa);
  }
  auto opts = at::TensorOptions().dtype(at::kLong).device(q.device());
  at::Tensor q_slot = at::arange(q_offset, q_offset + t, opts).unsqueeze(1);  // [T, 1]
  at::Tensor k_slot = at::arange(0, s, opts).unsqueeze(0);                    // [1, S]
  at::Tensor mask = (k_slot <= q_slot).unsqueeze(0);                          // [1, T, S]
  if (key_valid.defined()) {
    mask = mask.logical_and(key_valid.unsqueeze(1)).logical_or((k_slot == q_slot).unsqueeze(0));
  }
  if (gqa && q.is_cuda()) {
    // CUDA's memory-efficient kernel takes a mask but not enable_gqa (that combination falls back to
    // the math kernel, which materializes [B, Hq, T, S] scores): repeat K/V to the query heads.
    const int64_t group = q.size(1) / k.size(1);
    return at::scaled_dot_product_attention(q, k.repeat_interleave(group, 1), v.repeat_interleave(group, 1),
                                            mask.unsqueeze(1), 0.0, false, scale, false);
  }
  return at::scaled_dot_product_attention(q, k, v, mask.unsqueeze(1), 0.0, false, scale, gqa);
}

}  // namespace kvbench
