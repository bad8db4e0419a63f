// SPDX-License-Identifier: Apache-2.0
// KVShape: the model dimensions a KV method sizes its storage by. The model fills it from its
// config (ModelConfig::kv_shape()), so harness/kv/ and methods/ never depend on the model's config
// type. Header-only, no torch.
#pragma once

#include <cstdint>

namespace kvbench {

struct KVShape {
  int64_t num_layers = 0;
  int64_t num_heads = 0;     // query heads
  int64_t num_kv_heads = 0;  // key/value heads (GQA: num_heads is a multiple of it)
  int64_t head_dim = 0;
};

}  // namespace kvbench
