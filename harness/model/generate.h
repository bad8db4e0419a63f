// SPDX-License-Identifier: Apache-2.0
// Greedy generation over a batch of token-id prompts: prefill (whole prompt, or chunks of
// prefill_chunk slots to bound activation memory), then one token per decode step, with timings and
// memory. This is the token-level API; the text-level engine (tokenizer, chat template, stop
// strings) sits on top of it and uses `stop_predicate` for stop strings.
//
// Padding scheme (batch of prompts with different lengths): LEFT padding. With Lmax the longest
// prompt, sequence b (length L_b) occupies slots Lmax-L_b .. Lmax-1 of the prompt; its earlier slots
// are padding (token 0, position 0, valid=false), never attended to by real tokens. RoPE positions
// count real tokens only (0 .. L_b-1), so every sequence sees exactly what it would see alone. All
// sequences then decode in lockstep: decode step i fills slot Lmax+i for every sequence, at position
// L_b+i. A finished sequence keeps running (fed its last token) until all are done or max_new_tokens
// is reached; its extra tokens are discarded.
#pragma once

#include "harness/model/causal_lm.h"
#include "harness/model/decode_limits.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kvbench {

struct PrefillRecord;  // harness/model/shared_prefill.h

// max_new_tokens, prefill_chunk, stop_token_ids: DecodeLimits.
struct GenerateOptions : DecodeLimits {
  bool stop_on_eos = true;                   // stop on config + generation_config EOS ids
  // Called after every generated token with the sequence index and its tokens so far; returning
  // true stops that sequence ("stop" finish reason). Used for stop strings.
  std::function<bool(int64_t sequence, const std::vector<int64_t>& generated)> stop_predicate;
  bool keep_logits = false;                  // record each step's next-token logits (tests)
  // Per-sequence limits of a batch whose samples differ (empty: max_new_tokens / stop_token_ids
  // for every sequence): sequence b stops after max_new_tokens_per_sequence[b] tokens and also on
  // the ids of extra_stop_token_ids[b] ("stop_token").
  std::vector<int64_t> max_new_tokens_per_sequence;
  std::vector<std::vector<int64_t>> extra_stop_token_ids;
  // A recorded exact prefill of these prompts (harness/model/shared_prefill.h) to replay into the
  // method instead of running the model over the prompt; null: the method's own prefill.
  const PrefillRecord* shared_prefill = nullptr;
};

struct GenerateResult {
  // Generated ids per sequence, the stopping token (EOS / stop id) included when there was one.
  std::vector<std::vector<int64_t>> tokens;
  std::vector<std::string> finish_reasons;   // "eos", "stop_token", "stop", "length"
  double prefill_ms = 0;                     // prompt forward + first token (time to first token);
                                             // replayed: the recording's forward + the replay
  double prefill_replay_ms = -1;             // replayed: feeding the recorded calls to the method
                                             // and taking the first token (-1: own prefill)
  std::vector<double> decode_ms;             // one entry per decode step
  KVMemory kv;                               // the method's accounting at the end
  KVMemory kv_after_prefill;                 // memory() right after the prompt (and first token)
  std::vector<KVMemory> kv_steps;            // memory() after each decode step (decode_ms order)
  int64_t peak_host_rss_bytes = 0;           // process peak RSS (getrusage) after the run
  // CUDA runs: the peaks of the CUDA caching allocator from the start of the prefill to the last
  // decode step (everything on the device: weights, activations, KV and the method's buffers), bytes
  // handed to tensors and bytes reserved from the driver; -1 when the model is not on a CUDA device.
  int64_t peak_cuda_allocated_bytes = -1;
  int64_t peak_cuda_reserved_bytes = -1;
  // keep_logits: logits [B, vocab] (fp32, CPU) that chose token i, for i = 0 .. steps-1.
  std::vector<at::Tensor> step_logits;
};

// Left-padded prompt slots of a batch (the scheme above): tokens and positions [B, Lmax] int64,
// valid [B, Lmax] bool, on the CPU. Checks that prompts are non-empty and ids in the vocabulary.
struct PaddedPrompts {
  at::Tensor tokens, positions, valid;
  int64_t max_len = 0;
  bool has_padding = false;
};
PaddedPrompts pad_prompts(const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts);

// The prefill forward over the padded prompts (whole, or chunks of prefill_chunk slots), every
// layer's attention through `method` (reset() already called); the logits [B, 1, vocab] of the
// last slot.
at::Tensor run_prefill(const CausalLM& model, KVMethod& method, const PaddedPrompts& padded, int64_t prefill_chunk);

GenerateResult generate(const CausalLM& model, KVMethod& method,
                        const std::vector<std::vector<int64_t>>& prompts, const GenerateOptions& options);

}  // namespace kvbench
