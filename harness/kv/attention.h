// SPDX-License-Identifier: Apache-2.0
// Exact attention shared by KV methods: at::scaled_dot_product_attention over a key/value slot
// range (GQA via enable_gqa), with the causal + left-padding mask built only when it is needed, so
// the unmasked cases keep the flash / memory-efficient kernels on CUDA.
#pragma once

#include <ATen/ATen.h>

namespace kvbench {

// q [B, Hq, T, d] for slots q_offset..q_offset+T-1; k, v [B, Hkv, S, d] for slots 0..S-1
// (S >= q_offset + T); key_valid [B, S] bool (false: padding) or undefined when no slot is padding.
// A query attends to valid keys at slots <= its own; a padding query attends to itself only (its
// output is ignored, this only keeps it finite). Returns [B, Hq, T, d].
at::Tensor exact_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           int64_t q_offset, const at::Tensor& key_valid, double scale);

}  // namespace kvbench
