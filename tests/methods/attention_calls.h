// SPDX-License-Identifier: Apache-2.0
// Test helper: drive one KV method layer by hand. The whole sequence's tensors of one layer
// ([1, H, S, d]; positions [1, S]) are cut into the AttentionCall of new tokens [begin, begin + n),
// unpadded (valid all true), as the model would issue it for a prefill chunk or a decode step.
#pragma once

#include "harness/kv/method.h"

#include <ATen/ATen.h>

#include <cstdint>

namespace kvbench::test {

struct LayerSequence {
  at::Tensor query;         // [1, Hq, S, d] post-RoPE
  at::Tensor key_pre_rope;  // [1, Hkv, S, d]
  at::Tensor key;           // [1, Hkv, S, d] post-RoPE
  at::Tensor value;         // [1, Hkv, S, d]
  at::Tensor positions;     // [1, S] int64
  double scale = 1.0;

  AttentionCall call(int64_t begin, int64_t n, AttentionPhase phase, bool last_prefill_chunk = true,
                     int64_t layer = 0) const {
    AttentionCall c;
    c.layer = layer;
    c.phase = phase;
    c.last_prefill_chunk = last_prefill_chunk;
    c.slot_offset = begin;
    c.query = query.narrow(2, begin, n);
    c.key = key.narrow(2, begin, n);
    c.key_pre_rope = key_pre_rope.narrow(2, begin, n);
    c.value = value.narrow(2, begin, n);
    c.positions = positions.narrow(1, begin, n);
    c.valid = at::ones({1, n}, at::kBool);
    c.scale = scale;
    return c;
  }
};

}  // namespace kvbench::test
