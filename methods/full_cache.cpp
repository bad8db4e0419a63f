// SPDX-License-Identifier: Apache-2.0
// "full": the uncompressed KV cache. Every layer keeps all post-RoPE keys and values on the compute
// device in the compute dtype, in slot order ([B, Hkv, capacity, d], grown geometrically when the
// reset() hint is exceeded), and attends exactly over all of them (causal + padding mask).
// Accounting: kv_device_bytes = the allocated K/V capacity (L * B * Hkv * capacity * d * 2 * elem,
// harness/kv/memory_formulas.h), metadata_device_bytes = the [B, capacity] bool validity rows.
// Layer budgets: full attends everything, so every prompt token is reported as `local` (an exact
// window covering the whole prompt; mean valid prompt tokens per sequence, rounded) and every token
// fed in decode as `generated`; sink/outliers/selected are 0 and total() = tokens attended.
#include "harness/kv/attention.h"
#include "harness/kv/method.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kvbench {
namespace {

class FullCache : public KVMethod {
 public:
  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    model_ = model;
    batch_ = batch_size;
    hint_ = std::max<int64_t>(max_tokens, 1);
    layers_.assign(static_cast<size_t>(model.shape.num_layers), Layer{});
    peak_device_bytes_ = 0;
    tokens_attended_ = 0;
  }

  at::Tensor attend(const AttentionCall& call) override {
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    const int64_t t = call.key.size(2);
    KVBENCH_ASSERT(call.slot_offset == layer.length, "layer ", call.layer, " expected slot ", layer.length,
                   ", got ", call.slot_offset);
    reserve(layer, call, layer.length + t);
    layer.keys.narrow(2, layer.length, t).copy_(call.key);
    layer.values.narrow(2, layer.length, t).copy_(call.value);
    layer.valid.narrow(1, layer.length, t).copy_(call.valid);
    layer.has_padding = layer.has_padding || call.batch_has_padding;
    layer.length += t;
    if (call.phase == AttentionPhase::kPrefill) {
      layer.prompt_slots = layer.length;
      if (call.last_prefill_chunk) {
        layer.prompt_tokens =
            layer.has_padding ? std::llround(layer.valid.narrow(1, 0, layer.length).sum().item<double>() /
                                             static_cast<double>(batch_))
                              : layer.length;
      }
    }
    const int64_t s = layer.length;
    at::Tensor key_valid = layer.has_padding ? layer.valid.narrow(1, 0, s) : at::Tensor();
    if (call.layer == 0) {
      // Rows attended by the last new token of each sequence: its valid slots.
      tokens_attended_ = layer.has_padding ? key_valid.sum().item<double>() / static_cast<double>(batch_)
                                           : static_cast<double>(s);
    }
    peak_device_bytes_ = std::max(peak_device_bytes_, device_bytes());
    return exact_attention(call.query, layer.keys.narrow(2, 0, s), layer.values.narrow(2, 0, s),
                           call.slot_offset, key_valid, call.scale);
  }

  KVMemory memory() const override {
    KVMemory m;
    for (const Layer& l : layers_) {
      if (!l.keys.defined()) continue;
      m.kv_device_bytes += static_cast<int64_t>(l.keys.nbytes() + l.values.nbytes());
      m.metadata_device_bytes += static_cast<int64_t>(l.valid.nbytes());
    }
    m.device_bytes = m.kv_device_bytes + m.metadata_device_bytes;
    m.peak_device_bytes = peak_device_bytes_;
    m.tokens_attended = tokens_attended_;
    if (!layers_.empty() && layers_.front().length > 0) {
      for (const Layer& l : layers_) {
        LayerBudget b;
        b.local = l.prompt_tokens;
        b.generated = l.length - l.prompt_slots;
        m.layer_budgets.push_back(b);
      }
    }
    return m;
  }

 private:
  struct Layer {
    at::Tensor keys;     // [B, Hkv, capacity, d]
    at::Tensor values;   // [B, Hkv, capacity, d]
    at::Tensor valid;    // [B, capacity] bool
    int64_t length = 0;  // slots filled
    int64_t prompt_slots = 0;   // slots filled by prefill (padding included)
    int64_t prompt_tokens = 0;  // valid prompt tokens per sequence (mean, rounded), set at prefill end
    bool has_padding = false;
  };

  void reserve(Layer& layer, const AttentionCall& call, int64_t needed) {
    const int64_t capacity = layer.keys.defined() ? layer.keys.size(2) : 0;
    if (needed <= capacity) return;
    const int64_t grown = capacity == 0 ? std::max(hint_, needed) : std::max(needed, capacity * 2);
    auto sizes = call.key.sizes().vec();
    sizes[2] = grown;
    at::Tensor keys = at::empty(sizes, call.key.options());
    at::Tensor values = at::empty(sizes, call.value.options());
    at::Tensor valid = at::zeros({call.valid.size(0), grown}, call.valid.options());
    if (layer.length > 0) {
      keys.narrow(2, 0, layer.length).copy_(layer.keys.narrow(2, 0, layer.length));
      values.narrow(2, 0, layer.length).copy_(layer.values.narrow(2, 0, layer.length));
      valid.narrow(1, 0, layer.length).copy_(layer.valid.narrow(1, 0, layer.length));
    }
    layer.keys = keys;
    layer.values = values;
    layer.valid = valid;
  }

  int64_t device_bytes() const {
    int64_t total = 0;
    for (const Layer& l : layers_) {
      if (!l.keys.defined()) continue;
      total += static_cast<int64_t>(l.keys.nbytes() + l.values.nbytes() + l.valid.nbytes());
    }
    return total;  // = memory().kv_device_bytes + memory().metadata_device_bytes
  }

  ModelView model_;
  int64_t batch_ = 1;
  int64_t hint_ = 1;
  std::vector<Layer> layers_;
  int64_t peak_device_bytes_ = 0;
  double tokens_attended_ = 0;
};

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "full",
    "Full KV cache on the compute device, exact attention (the reference every method is compared to)",
    {},
    [](const nlohmann::json&) { return std::unique_ptr<KVMethod>(new FullCache()); },
    {}});

}  // namespace kvbench
