// SPDX-License-Identifier: Apache-2.0
// DecodeLimits: the generation limits shared by the token-level generate() (GenerateOptions,
// harness/model/generate.h) and the text-level engine request (GenerationSettings,
// harness/engine/engine.h), declared once so the two never drift apart. Header-only, no torch.
#pragma once

#include <cstdint>
#include <vector>

namespace kvbench {

struct DecodeLimits {
  int64_t max_new_tokens = 256;
  int64_t prefill_chunk = 0;             // slots per prefill chunk; 0 = whole prompt at once
  std::vector<int64_t> stop_token_ids;   // in addition to the model's EOS ids
};

}  // namespace kvbench
