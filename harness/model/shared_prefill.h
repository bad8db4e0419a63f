// SPDX-License-Identifier: Apache-2.0
// Shared prefill: the exact prefill of a batch of prompts, computed once and replayed into any
// number of methods. record_prefill() runs the model over the prompts with the full cache (the
// registered "full" method: exact attention over every slot) and keeps every layer's AttentionCall of every prefill chunk plus the
// logits of the last slot; generate() with GenerateOptions::shared_prefill replays those calls into
// the run's method (output_wanted = false) instead of running the model, then decodes as usual.
// A method that declares PrefillUses (harness/kv/prefill_uses.h) computes exact attention in its prefill,
// so the replayed method ends the prompt in the same state, bit for bit, as after its own prefill.
//
// Memory: the recording holds, per layer and chunk, keys and values [B, Hkv, T, d] and the declared
// extras (pre-RoPE keys [B, Hkv, T, d], queries [B, Hq, T, d], hidden states [B, T, hidden]) in the
// compute dtype: for a model on CUDA in pinned host memory (so the replayed method's device peak is
// its own), on the CPU the model's tensors themselves. bytes() says how much; the engine keeps at
// most one recording and drops it when the sweep moves to the next sample.
#pragma once

#include "harness/kv/method.h"
#include "harness/model/causal_lm.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace kvbench {

struct PrefillRecord {
  std::vector<std::vector<int64_t>> prompts;  // the token ids it was made from
  int64_t prefill_chunk = 0;                  // GenerateOptions::prefill_chunk it was made with
  PrefillUses uses;                           // extras kept besides key/value/positions/valid
  std::vector<AttentionCall> calls;           // model order: chunk by chunk, layers 0..L-1 in each
  at::Tensor logits;                          // [B, 1, vocab] of the last prompt slot (compute dtype)
  double forward_ms = 0;                      // the model's prefill forward, recording included
  int64_t bytes = 0;                          // tensor bytes the recording holds

  // Can this recording stand for the prefill of `prompts` with `prefill_chunk` for methods using `wanted`?
  bool serves(const std::vector<std::vector<int64_t>>& prompts, int64_t prefill_chunk,
              const PrefillUses& wanted) const;
};

// The model's exact prefill of `prompts` (left-padded as generate() pads them), recorded.
PrefillRecord record_prefill(const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                             int64_t prefill_chunk, const PrefillUses& uses);

// Feeds the recorded calls to `method` (reset() already called), on the model's device, with
// output_wanted = false. Returns the recorded logits on the model's device.
at::Tensor replay_prefill(const PrefillRecord& record, const CausalLM& model, KVMethod& method);

}  // namespace kvbench
