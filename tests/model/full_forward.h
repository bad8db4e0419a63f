// SPDX-License-Identifier: Apache-2.0
// Test helper: one forward pass of a whole prompt through the full cache, logits of every position.
#pragma once

#include "harness/kv/method.h"
#include "harness/model/causal_lm.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace kvbench::test {

// Full forward of one sequence (no padding), all positions: [T, vocab] fp32.
inline at::Tensor full_forward(const CausalLM& m, const std::vector<int64_t>& prompt) {
  auto method = KVMethodRegistry::instance().find("full")->make(nlohmann::json::object());
  const int64_t t = static_cast<int64_t>(prompt.size());
  method->reset(m.view(), 1, t);
  ForwardInput in;
  in.tokens = at::tensor(prompt, at::kLong).view({1, t});
  in.positions = at::arange(t, at::kLong).view({1, t});
  in.valid = at::ones({1, t}, at::kBool);
  in.all_logits = true;
  return m.forward(in, *method)[0].to(at::kFloat);
}

}  // namespace kvbench::test
