// SPDX-License-Identifier: Apache-2.0
// Recording an exact prefill (the full cache's attention, every call kept) and replaying it.
#include "harness/model/shared_prefill.h"

#include "harness/error.h"
#include "harness/params.h"
#include "harness/model/generate.h"

#include <c10/core/InferenceMode.h>

#include <array>
#include <chrono>
#include <memory>

namespace kvbench {
namespace {

// Every tensor field of a call (undefined ones included).
std::array<at::Tensor*, 7> call_tensors(AttentionCall& call) {
  return {&call.query, &call.key_pre_rope, &call.key, &call.value, &call.positions, &call.valid, &call.hidden};
}

// The full cache (the registered "full" method: exact attention over every slot seen so far), with
// each call of the prefill kept in the record: the recorded forward is the full cache's.
class RecordingMethod : public KVMethod {
 public:
  RecordingMethod(PrefillRecord& record, bool to_host) : record_(record), to_host_(to_host) {
    const auto* full = KVMethodRegistry::instance().find("full");
    KVBENCH_ASSERT(full != nullptr, "shared prefill: the full cache method is not registered");
    full_ = full->make(default_params(full->params));
  }

  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    full_->reset(model, batch_size, max_tokens);
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_ASSERT(call.phase == AttentionPhase::kPrefill, "the prefill recorder got a decode call");
    AttentionCall kept = call;
    const PrefillUses& uses = record_.uses;
    if (!uses.query) kept.query = at::Tensor();
    if (!uses.key_pre_rope) kept.key_pre_rope = at::Tensor();
    if (!uses.hidden) kept.hidden = at::Tensor();
    for (at::Tensor* t : call_tensors(kept)) {
      if (!t->defined()) continue;
      // CUDA: a pinned host copy (strides kept), so the recording holds no device memory; CPU: the
      // model's own tensor (the forward never writes a tensor after handing it to attend()).
      if (to_host_) *t = t->to(t->options().device(at::kCPU).pinned_memory(true), /*non_blocking=*/true);
      record_.bytes += static_cast<int64_t>(t->numel() * t->element_size());
    }
    record_.calls.push_back(std::move(kept));
    return full_->attend(call);
  }

  KVMemory memory() const override { return full_->memory(); }

 private:
  PrefillRecord& record_;
  bool to_host_;
  std::unique_ptr<KVMethod> full_;
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
    for (at::Tensor* t : call_tensors(call))
      if (t->defined() && t->device() != device) *t = t->to(device, /*non_blocking=*/true);
    call.output_wanted = false;
    method.attend(call);
  }
  return record.logits.to(device);
}

}  // namespace kvbench
