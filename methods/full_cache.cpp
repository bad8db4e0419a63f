// SPDX-License-Identifier: Apache-2.0
// "full": the uncompressed KV cache. Every layer keeps all post-RoPE keys and values on the compute
// device in the compute dtype, in slot order (a KVSlotStore, harness/kv/slot_store.h: [B, Hkv,
// capacity, d] grown geometrically past the reset() hint), and attends exactly over all of them
// (causal + padding mask).
// Accounting: kv_device_bytes = the allocated K/V capacity (L * B * Hkv * capacity * d * 2 * elem,
// harness/kv/memory_formulas.h), metadata_device_bytes = the [B, capacity] bool validity rows.
// Layer budgets: full attends everything, so every prompt token is reported as `local` (an exact
// window covering the whole prompt; mean valid prompt tokens per sequence, rounded) and every token
// fed in decode as `generated`; sink/outliers/selected are 0 and total() = tokens attended.
#include "harness/kv/attention.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/method.h"
#include "harness/kv/slot_store.h"

#include <cmath>
#include <vector>

namespace kvbench {
namespace {

class FullCache : public KVMethod {
 public:
  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    model_ = model;
    batch_ = batch_size;
    // Per layer: keys, values [B, Hkv, capacity, d] and the validity rows [B, capacity] bool.
    KVSlotStore::Layout layout;
    layout.fields = {{"keys"}, {"values"}, {"valid", 1, KVByteRole::kMetadata}};
    store_.reset(model.shape.num_layers, max_tokens, layout);
    layers_.assign(static_cast<size_t>(model.shape.num_layers), Layer{});
    counters_.reset();
  }

  at::Tensor attend(const AttentionCall& call) override {
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    KVBENCH_ASSERT(call.slot_offset == store_.length(call.layer), "layer ", call.layer, " expected slot ",
                   store_.length(call.layer), ", got ", call.slot_offset);
    store_.append(call.layer, {call.key, call.value, call.valid});
    layer.has_padding = layer.has_padding || call.batch_has_padding;
    const int64_t s = store_.length(call.layer);
    at::Tensor valid = store_.filled(call.layer, kValid);
    if (call.phase == AttentionPhase::kPrefill) {
      layer.prompt_slots = s;
      if (call.last_prefill_chunk) {
        layer.prompt_tokens =
            layer.has_padding ? std::llround(valid.sum().item<double>() / static_cast<double>(batch_)) : s;
      }
    }
    at::Tensor key_valid = layer.has_padding ? valid : at::Tensor();
    if (call.layer == 0) {
      // Rows attended by the last new token of each sequence: its valid slots.
      counters_.set_tokens_attended(layer.has_padding ? key_valid.sum().item<double>() / static_cast<double>(batch_)
                                                      : static_cast<double>(s));
    }
    counters_.observe(store_.bytes());
    if (!call.output_wanted) return at::Tensor();  // a replayed shared prefill
    return exact_attention(call.query, store_.filled(call.layer, kKeys), store_.filled(call.layer, kValues),
                           call.slot_offset, key_valid, call.scale);
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(store_.bytes());
    if (!layers_.empty() && store_.length(0) > 0) {
      for (size_t l = 0; l < layers_.size(); ++l) {
        LayerBudget b;
        b.local = layers_[l].prompt_tokens;
        b.generated = store_.length(static_cast<int64_t>(l)) - layers_[l].prompt_slots;
        m.layer_budgets.push_back(b);
      }
    }
    return m;
  }

 private:
  enum Field : size_t { kKeys, kValues, kValid };
  struct Layer {
    int64_t prompt_slots = 0;   // slots filled by prefill (padding included)
    int64_t prompt_tokens = 0;  // valid prompt tokens per sequence (mean, rounded), set at prefill end
    bool has_padding = false;
  };

  ModelView model_;
  int64_t batch_ = 1;
  KVSlotStore store_;  // kv bytes = the allocated K/V capacity, metadata = the validity rows
  std::vector<Layer> layers_;
  KVCounters counters_;
};

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "full",
    "Full KV cache on the compute device, exact attention (the reference every method is compared to)",
    {},
    [](const nlohmann::json&) { return std::unique_ptr<KVMethod>(new FullCache()); },
    // Left-padded batches: padding slots are masked by AttentionCall::valid (tests/methods/test_batch_methods).
    {{"padded_batches", true}, {"shared_prefill", {{"uses", nlohmann::json::array()}}}}});

}  // namespace kvbench
