// SPDX-License-Identifier: Apache-2.0
// Recording an exact prefill (the full cache's attention, every call kept) and replaying it.
#include "harness/model/shared_prefill.h"

#include "harness/error.h"
#include "harness/kv/attention.h"
#include "harness/kv/slot_store.h"
#include "harness/model/generate.h"

#include <c10/core/InferenceMode.h>

#include <chrono>

namespace kvbench {
namespace {

// Exact attention over every slot seen so far (as methods/full_cache.cpp computes it: the same
// exact_attention call over the same rows, so the recorded forward is the full cache's), keeping
// each call of the prefill.
class RecordingMethod : public KVMethod {
 public:
  RecordingMethod(PrefillRecord& record, bool to_host) : record_(record), to_host_(to_host) {}

  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    (void)batch_size;
    KVSlotStore::Layout layout;
    layout.fields = {{"keys"}, {"values"}, {"valid", 1, KVByteRole::kMetadata}};  // valid: [B, S]
    store_.reset(model.shape.num_layers, max_tokens, layout);
    has_padding_ = false;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_ASSERT(call.phase == AttentionPhase::kPrefill, "the prefill recorder got a decode call");
    store_.append(call.layer, {call.key, call.value, call.valid});
    has_padding_ = has_padding_ || call.batch_has_padding;
    AttentionCall kept = call;
    const PrefillUses& uses = record_.uses;
    if (!uses.query) kept.query = at::Tensor();
    if (!uses.key_pre_rope) kept.key_pre_rope = at::Tensor();
    if (!uses.hidden) kept.hidden = at::Tensor();
    for (at::Tensor* t : {&kept.query, &kept.key_pre_rope, &kept.key, &kept.value, &kept.positions, &kept.valid,
                          &kept.hidden}) {
      if (!t->defined()) continue;
      // CUDA: a pinned host copy (strides kept), so the recording holds no device memory; CPU: the
      // model's own tensor (the forward never writes a tensor after handing it to attend()).
      if (to_host_) *t = t->to(t->options().device(at::kCPU).pinned_memory(true), /*non_blocking=*/true);
      record_.bytes += static_cast<int64_t>(t->numel() * t->element_size());
    }
    record_.calls.push_back(std::move(kept));
    at::Tensor key_valid = has_padding_ ? store_.filled(call.layer, 2) : at::Tensor();
    return exact_attention(call.query, store_.filled(call.layer, 0), store_.filled(call.layer, 1), call.slot_offset,
                           key_valid, call.scale);
  }

  KVMemory memory() const override { return KVMemory{}; }

 private:
  PrefillRecord& record_;
  bool to_host_;
  KVSlotStore store_;
  bool has_padding_ = false;
};

}  // namespace

bool PrefillRecord::serves(const std::vector<std::vector<int64_t>>& wanted_prompts, int64_t wanted_chunk,
                           const PrefillUses& wanted) const {
  return !calls.empty() && prefill_chunk == wanted_chunk && uses.covers(wanted) && prompts == wanted_prompts;
}

PrefillRecord record_prefill(const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                             int64_t prefill_chunk, const PrefillUses& uses) {
  c10::InferenceMode guard;
  PrefillRecord record;
  record.prompts = prompts;
  record.prefill_chunk = prefill_chunk;
  record.uses = uses;
  const PaddedPrompts padded = pad_prompts(model, prompts);
  const auto start = std::chrono::steady_clock::now();
  RecordingMethod recorder(record, model.device().is_cuda());
  recorder.reset(model.view(), static_cast<int64_t>(prompts.size()), padded.max_len);
  at::Tensor logits = run_prefill(model, recorder, padded, prefill_chunk);
  record.logits = logits.to(at::kCPU);  // syncs the device: every host copy above has landed
  record.forward_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return record;
}

at::Tensor replay_prefill(const PrefillRecord& record, const CausalLM& model, KVMethod& method) {
  c10::InferenceMode guard;
  const at::Device device = model.device();
  for (const AttentionCall& recorded : record.calls) {
    AttentionCall call = recorded;
    for (at::Tensor* t : {&call.query, &call.key_pre_rope, &call.key, &call.value, &call.positions, &call.valid,
                          &call.hidden})
      if (t->defined() && t->device() != device) *t = t->to(device, /*non_blocking=*/true);
    call.output_wanted = false;
    method.attend(call);
  }
  return record.logits.to(device);
}

}  // namespace kvbench
