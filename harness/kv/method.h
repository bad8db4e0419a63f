// SPDX-License-Identifier: Apache-2.0
// KVMethod: the attention hook every KV-cache method implements. The model calls it once per layer
// per forward (prefill chunk or decode step) with everything a method may need; the method owns its
// KV storage (device or host), decides which keys/values the new queries attend to, computes the
// attention output and accounts for its memory. The model code has no method-specific branches.
// Methods keep growable per-layer storage in KVSlotStores (harness/kv/slot_store.h) and their
// accounting in a KVCounters (harness/kv/kv_counters.h), which fills KVMemory.
// This interface sits in harness/kv/, below the model (which calls it) and the methods (which
// implement it); it sees the model only through ModelView (KVShape, LayerWeights, Rope).
//
// Implemented methods: one file each in methods/ (`kvbench list methods` prints them with their
// defaults; budgets per method in README "KV methods"). What a method may use:
// - call.key_pre_rope + view.rope->apply: keep pre-RoPE keys and rotate gathered rows at their
//   original positions (ShadowKV, YAKV); call.last_prefill_chunk: compress the prompt once (SVD,
//   landmarks, page digests);
// - call.query: score pages/chunks/rows before attending (Quest, ShadowKV, YAKV);
// - view.weights->layer(l + 1, "self_attn.q_proj.weight"): any layer's weights; call.hidden: this
//   layer's normalized input; view.project_query(l, hidden): layer l's query projection of any
//   normalized hidden state (InfiniGen speculates layer l's query from layer l-1's input);
// - view.forward_tokens + view.tokenize: a calibration pass of the model over a fixed text with an
//   observer method that sees every layer's queries/keys (InfiniGen's skewing matrices).
#pragma once

#include "harness/kv/kv_shape.h"
#include "harness/kv/layer_weights.h"
#include "harness/kv/prefill_uses.h"
#include "harness/kv/rope.h"
#include "harness/registry.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kvbench {

class KVMethod;

enum class AttentionPhase { kPrefill, kDecode };

// Read-only access to the model, valid from reset() until the next reset():
// - shape: layers, heads, head_dim (what storage is sized by);
// - weights: every layer's tensors (null when a test drives a method without a model);
// - rope: rotate any keys at any positions (ShadowKV / YAKV re-apply RoPE to gathered pre-RoPE keys
//   at their original positions: rope->apply(k_pre [B,H,n,d], positions [B,n])).
// The model's own computations a method may call (each null when a test drives a method without a
// model; methods that need one fail with an error naming it):
// - project_query(layer, hidden [B, T, hidden]): that layer's query projection of a normalized
//   hidden state, as the model computes it (bias, per-head q-norm), before RoPE: [B, Hq, T, d];
// - forward_tokens(ids, observer): the whole model over one sequence of token ids (positions
//   0..n-1, one prefill chunk, logits discarded) with `observer` as every layer's KV method;
//   observer.reset() is not called. Ids outside the vocabulary are a config Error;
// - tokenize(text): `text` as the model's token ids, tokenized like a raw prompt (special tokens
//   added). Null also when the model runs without a tokenizer (token-level generate() callers such
//   as tests and benchmarks): the engine attaches it (CausalLM::set_tokenizer).
struct ModelView {
  KVShape shape;
  const LayerWeights* weights = nullptr;
  const Rope* rope = nullptr;
  std::function<at::Tensor(int64_t layer, const at::Tensor& hidden)> project_query;
  std::function<void(const std::vector<int64_t>& ids, KVMethod& observer)> forward_tokens;
  std::function<std::vector<int64_t>(const std::string& text)> tokenize;
};

// One layer's attention request for T new tokens of B sequences. Shapes: B batch, T new tokens,
// Hq / Hkv query / KV heads, d head_dim. Tensors are on the compute device in the compute dtype
// (positions/valid: int64/bool). Batches are left-padded (see harness/model/generate.h): slot s of
// every sequence is filled at the same step; pad slots have valid=false and position 0 and must
// never be attended to by real tokens.
struct AttentionCall {
  int64_t layer = 0;
  AttentionPhase phase = AttentionPhase::kPrefill;
  // Prefill: true on the chunk that ends the prompt (whole-prompt prefill: always true). Methods
  // that compress or summarize the prompt (SVD, landmarks, page digests, eviction) do it here.
  bool last_prefill_chunk = true;
  int64_t slot_offset = 0;   // cache slot of the first new token (tokens already seen per sequence,
                             // padding included)
  at::Tensor query;          // [B, Hq, T, d] after q-norm (if any) and RoPE
  at::Tensor key_pre_rope;   // [B, Hkv, T, d] after k-norm (if any), before RoPE
  at::Tensor key;            // [B, Hkv, T, d] after RoPE
  at::Tensor value;          // [B, Hkv, T, d]
  at::Tensor positions;      // [B, T] int64 RoPE positions of the new tokens (pad slots: 0)
  at::Tensor valid;          // [B, T] bool, false on left-padding slots
  bool batch_has_padding = false;  // any slot of this batch is padding (else `valid` is all true)
  at::Tensor hidden;         // [B, T, hidden] this layer's normalized input (input_layernorm output)
  double scale = 1.0;        // softmax scale, 1/sqrt(d)
  // False when a recorded exact prefill is replayed into the method (shared prefill, see
  // PrefillUses): the model already has this call's output, so the method only stores what it
  // keeps of the prompt and may return an undefined tensor. Fields the method did not declare in
  // its PrefillUses (harness/kv/prefill_uses.h) are undefined in such a call.
  bool output_wanted = true;
};

// Tokens one KV head attends at a decode step, by role (mean over KV heads and sequences when they
// differ). Methods resolve their budgets per layer at the end of prefill and report them here, so a
// table can always say how many tokens each method attended (sink + local + outliers + selected +
// generated = tokens attended).
struct LayerBudget {
  int64_t sink = 0;       // attention sinks / prefix kept exactly
  int64_t local = 0;      // recent prompt window kept exactly
  int64_t outliers = 0;   // outlier rows/chunks kept exactly
  int64_t selected = 0;   // rows chosen per step by the method's scoring rule
  int64_t generated = 0;  // generated tokens so far (kept exactly)
  int64_t total() const { return sink + local + outliers + selected + generated; }
};

// Memory and work accounting of a method (totals over all layers). generate() snapshots it after
// prefill and after every decode step (harness/model/generate.h) and derives per-step figures from
// the cumulative counters. Resident bytes are allocated bytes (a KVSlotStore's capacity, not only
// its filled rows); KVCounters::memory() fills every field but layer_budgets.
struct KVMemory {
  int64_t device_bytes = 0;           // persistent on the compute device (= kv + metadata bytes)
  int64_t kv_device_bytes = 0;        //   of which key/value rows (exact or quantized)
  int64_t metadata_device_bytes = 0;  //   of which selection metadata (landmarks, digests, factors, ids)
  int64_t transient_device_bytes = 0; // per-step working buffers (gathered rows), not in device_bytes
  int64_t host_bytes = 0;             // resident in host RAM (offloaded KV)
  int64_t peak_device_bytes = 0;      // peak of device_bytes + transient since reset()
  double tokens_attended = 0;         // last decode step: KV rows attended per layer, KV head and
                                      // sequence (mean); after prefill: the prompt tokens' mean
  int64_t host_to_device_bytes = 0;   // bytes moved host->device since reset() (HostToDevice counter)
  int64_t cache_hits = 0;             // since reset(): fetched rows/chunks found already resident
  int64_t cache_lookups = 0;          // since reset(): rows/chunks the selection asked for
  std::vector<LayerBudget> layer_budgets;  // per layer at the last decode step; empty: unbudgeted
};

class KVMethod {
 public:
  virtual ~KVMethod() = default;
  // Start a new batch: drop every stored KV. `max_tokens` is the slot capacity the run will need
  // (padded prompt + max new tokens): a hint for pre-allocation, not a limit.
  virtual void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) = 0;
  // Store what the method keeps of call.key/value and return the attention output of the new
  // queries, [B, Hq, T, d] in the query's dtype. Prefill chunks of one batch come in order
  // (slot_offset increasing), each for layers 0..L-1; then one decode call per layer per step.
  virtual at::Tensor attend(const AttentionCall& call) = 0;
  virtual KVMemory memory() const = 0;
  // Method-specific counters for the run record (selection hit rate, evictions, ...).
  virtual nlohmann::json stats() const { return nlohmann::json::object(); }
};

// Factories receive the parameters resolved against the entry's ParamSpecs.
KVBENCH_REGISTRY_KIND(KVMethod, "method");
using KVMethodRegistry = Registry<KVMethod>;

}  // namespace kvbench
