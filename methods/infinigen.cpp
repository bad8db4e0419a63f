// SPDX-License-Identifier: Apache-2.0
// "infinigen" (Lee et al., OSDI 2024; reference snu-comparch/InfiniGen @ 3754f52, as the study ran it
// for Llama 3: yandex-research/context-intensive-kv-offloading shadowkv-models/shadowkv_models/
// llama_infinigen.py; ../shared/docs/methods.md sections 3.1-3.3).
// Setup, once per model (methods/infinigen_calibration.h): one dense pass over the first
// `calibration_tokens` tokens of a fixed text gives per layer and query head the skewing matrix and
// the partial channels; the layer keeps only A restricted to them, [Hq, d, w].
// Prefill is dense (exact causal attention over the prompt so far, on the device). At the prompt's
// end each layer >= dense_layers moves its K/V to pinned host memory and keeps on the device only
// the partial key cache [B, Hq, S, w] (keys times each query head's partial skew) and the slot
// validity; layers < dense_layers (the port's "layer > 1" rule: 0 and 1) keep their full K/V on
// the device and attend densely forever.
// Decode step, layer l >= dense_layers (methods/infinigen_speculation.h):
//   speculation: layer l's query projection of layer l-1's normalized input of this step
//     (view.project_query, the port's previous hidden states with the current W_q; for Qwen the
//     layer's q bias / per-head q-norm apply too, as the model projects: the port is Llama-only),
//     RoPE at the step's positions, partial skew -> q' [B, Hq, 1, w];
//   the token's K/V go to the host store and its partial keys to the device cache first, so it
//     competes like every other slot (the port scores after appending);
//   scores = q' k'^T / sqrt(d) per query head; per sequence floor(budget * slots) rows per head
//     (alpha rule on top; alpha 99 = the port's pure top-k), top-k per head;
//   the chosen rows are gathered from the host store through HostToDevice (per query head:
//     B * Hq * k rows of K and of V, counted as host-to-device bytes) and attended exactly.
// The speculation is computed at layer l's call, not overlapped with layer l-1 (the port's order:
// the current token's key must exist); the gather runs on the transfer side stream on CUDA.
// Budget 1.0 selects every valid slot, which attends exactly the full cache's rows.
#include "harness/error.h"
#include "harness/kv/attention.h"
#include "harness/kv/budget.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/method.h"
#include "harness/kv/slot_store.h"
#include "harness/kv/transfer.h"
#include "methods/infinigen_calibration.h"
#include "methods/infinigen_speculation.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace kvbench {
namespace {

class InfiniGen : public KVMethod {
 public:
  explicit InfiniGen(const nlohmann::json& p)
      : budget_(parse_budget_fraction(p["budget"], "method.params.budget")),
        alpha_(p["alpha"].get<double>()),
        ratio_(p["partial_weight_ratio"].get<double>()),
        dense_layers_(p["dense_layers"].get<int64_t>()),
        calibration_text_(p["calibration_text"].get<std::string>()),
        calibration_tokens_(p["calibration_tokens"].get<int64_t>()) {
    KVBENCH_CHECK_CONFIG(budget_ > 0, "method.params.budget: must be > 0 (a fraction of the sequence)");
  }

  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    model_ = model;
    batch_ = batch_size;
    const int64_t layers = model.shape.num_layers;
    KVBENCH_CHECK_CONFIG(dense_layers_ < layers || layers == 0, "method.params.dense_layers: ", dense_layers_,
                         " leaves no sparse layer of the model's ", layers);
    if (!calibration_ || calibrated_for_ != model.weights) {
      KVBENCH_CHECK(model.project_query && model.forward_tokens,
                    "infinigen: needs the model's query projection and forward pass (ModelView)");
      calibration_ = std::make_shared<infinigen::Calibration>(
          infinigen::calibrate(model, calibration_text_, calibration_tokens_, ratio_, dense_layers_));
      calibrated_for_ = model.weights;
    }
    KVSlotStore::Layout device;
    device.fields = {{"keys"}, {"values"}, {"valid", 1, KVByteRole::kMetadata}};
    device_.reset(layers, max_tokens, device);
    KVSlotStore::Layout host;
    host.placement = KVPlacement::kPinnedHost;
    host_.reset(layers, max_tokens, host);
    KVSlotStore::Layout partial;
    partial.fields = {{"partial_keys", 2, KVByteRole::kMetadata}, {"valid", 1, KVByteRole::kMetadata}};
    partial_.reset(layers, max_tokens, partial);
    layers_.assign(static_cast<size_t>(layers), Layer{});
    previous_hidden_ = at::Tensor();
    counters_.reset();
  }

  at::Tensor attend(const AttentionCall& call) override {
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    layer.has_padding = layer.has_padding || call.batch_has_padding;
    at::Tensor out;
    if (call.phase == AttentionPhase::kPrefill) {
      out = prefill(layer, call);
    } else if (call.layer < dense_layers_) {
      out = dense(layer, call);
    } else {
      out = sparse(layer, call);
    }
    // Layer l+1 speculates from this layer's input of the same step.
    previous_hidden_ = call.phase == AttentionPhase::kDecode ? call.hidden : at::Tensor();
    counters_.observe(resident());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(resident());
    if (layers_.empty() || !layers_[0].built) return m;
    double attended = 0;
    for (const Layer& l : layers_) {
      m.layer_budgets.push_back(l.budget);
      attended += static_cast<double>(l.budget.total());
    }
    m.tokens_attended = attended / static_cast<double>(layers_.size());
    return m;
  }

  nlohmann::json stats() const override {
    nlohmann::json s = {{"budget", budget_}, {"alpha", alpha_}, {"partial_weight_ratio", ratio_},
                        {"dense_layers", dense_layers_}, {"rows_fetched", counters_.cache_lookups()}};
    if (calibration_) {
      s["calibration_text"] = calibration_->text_path;
      s["calibration_tokens"] = calibration_->tokens;
      s["calibration_token_source"] = calibration_->token_source;
      std::vector<int64_t> widths;
      double channels = 0, heads = 0;
      for (const infinigen::LayerSkew& l : calibration_->layers) {
        widths.push_back(l.width());
        for (int64_t c : l.channels_per_head) channels += static_cast<double>(c), heads += 1;
      }
      s["partial_widths"] = widths;  // per layer (0 for dense layers)
      if (heads > 0) s["partial_channels_per_head"] = channels / heads;
    }
    return s;
  }

 private:
  enum DeviceField : size_t { kKeys, kValues, kValid };       // device_ (and host_: keys, values)
  enum PartialField : size_t { kPartialKeys, kPartialValid };  // partial_
  struct Layer {
    bool built = false;          // the prompt has ended
    bool has_padding = false;
    int64_t prompt_slots = 0;
    LayerBudget budget;          // at the last step (after prefill: the prompt, dense)
  };

  const infinigen::LayerSkew& skew(int64_t layer) const {
    return calibration_->layers.at(static_cast<size_t>(layer));
  }

  // Valid slots per sequence of a [B, S] validity field (S each when unpadded).
  std::vector<int64_t> valid_counts(const Layer& layer, const at::Tensor& valid) const {
    if (!layer.has_padding) return std::vector<int64_t>(static_cast<size_t>(batch_), valid.size(1));
    const at::Tensor counts = valid.sum(1).to(at::kCPU);
    std::vector<int64_t> out;
    for (int64_t b = 0; b < batch_; ++b) out.push_back(counts[b].item<int64_t>());
    return out;
  }

  static double mean(const std::vector<int64_t>& v) {
    return static_cast<double>(std::accumulate(v.begin(), v.end(), int64_t{0})) / static_cast<double>(v.size());
  }

  at::Tensor prefill(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    KVBENCH_CHECK(!layer.built, "infinigen: layer ", l, " got a prefill chunk after its prompt ended");
    KVBENCH_CHECK(call.slot_offset == device_.length(l), "infinigen: layer ", l, " expected slot ", device_.length(l),
                  ", got ", call.slot_offset);
    device_.append(l, {call.key, call.value, call.valid});
    const at::Tensor valid = device_.filled(l, kValid);
    at::Tensor out = call.output_wanted ? exact_attention(call.query, device_.filled(l, kKeys), device_.filled(l, kValues),
                                                          call.slot_offset, layer.has_padding ? valid : at::Tensor(),
                                                          call.scale)
                                         : at::Tensor();
    if (call.last_prefill_chunk) {
      layer.prompt_slots = device_.length(l);
      layer.budget = LayerBudget{};
      layer.budget.local = std::llround(mean(valid_counts(layer, valid)));
      if (l >= dense_layers_) offload(l);
      layer.built = true;
    }
    return out;
  }

  // End of the prompt of a sparse layer: K/V to the host, partial keys + validity on the device.
  void offload(int64_t l) {
    const at::Tensor keys = device_.filled(l, kKeys);
    host_.append(l, {keys, device_.filled(l, kValues)});
    partial_.append(l, {infinigen::partial_keys(keys, skew(l).partial_skew), device_.filled(l, kValid)});
    device_.clear(l);
  }

  at::Tensor dense(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    KVBENCH_CHECK(layer.built, "infinigen: decode before the prompt of layer ", l, " ended");
    device_.append(l, {call.key, call.value, call.valid});
    const at::Tensor valid = device_.filled(l, kValid);
    ++layer.budget.generated;
    return exact_attention(call.query, device_.filled(l, kKeys), device_.filled(l, kValues), device_.length(l) - 1,
                           layer.has_padding ? valid : at::Tensor(), call.scale);
  }

  at::Tensor sparse(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    KVBENCH_CHECK(layer.built, "infinigen: decode before the prompt of layer ", l, " ended");
    KVBENCH_CHECK(call.query.size(2) == 1, "infinigen: decode takes one token per step, got ", call.query.size(2));
    KVBENCH_CHECK(previous_hidden_.defined(), "infinigen: layer ", l, " has no previous layer input to speculate from");
    const at::Tensor& partial_skew = skew(l).partial_skew;
    // Speculative partial query of layer l from layer l-1's input: [B, Hq, 1, w].
    at::Tensor query = model_.rope->apply(model_.project_query(l, previous_hidden_), call.positions);
    const at::Tensor partial_query = infinigen::partial_query(query, partial_skew);
    // The new token joins the host K/V and the device partial keys, then competes like any slot.
    host_.append(l, {call.key, call.value});
    partial_.append(l, {infinigen::partial_keys(call.key, partial_skew), call.valid});
    const at::Tensor valid = partial_.filled(l, kPartialValid);
    const at::Tensor scores = infinigen::speculative_scores(
        partial_query, partial_.filled(l, kPartialKeys), layer.has_padding ? valid : at::Tensor(), call.scale);
    const infinigen::Selection selection = infinigen::select_tokens(scores, valid_counts(layer, valid), budget_, alpha_);
    // Gather the chosen rows per query head from the host store [B, Hkv, capacity, d].
    const at::Tensor host_keys = host_.storage(l, kKeys), host_values = host_.storage(l, kValues);
    const int64_t b = host_keys.size(0), hkv = host_keys.size(1), capacity = host_keys.size(2), d = host_keys.size(3);
    const int64_t hq = selection.slots.size(1), k = selection.slots.size(2);
    const at::Tensor slots = selection.slots.to(call.query.device());
    const at::Tensor row = (at::arange(b, slots.options()).view({b, 1, 1}) * hkv +
                            at::arange(hq, slots.options()).div(hq / hkv, "floor").view({1, hq, 1})) * capacity + slots;
    at::Tensor keys = at::empty({b, hq, k, d}, call.key.options());
    at::Tensor values = at::empty({b, hq, k, d}, call.value.options());
    HostToDevice& transfer = counters_.transfer(call.query.device());
    transfer.gather(host_keys.view({b * hkv * capacity, d}), 0, row.flatten(), keys.view({b * hq * k, d}));
    transfer.gather(host_values.view({b * hkv * capacity, d}), 0, row.flatten(), values.view({b * hq * k, d}));
    transfer.wait();
    counters_.count_lookups(0, b * hq * k);
    counters_.set_transient_bytes(keys.nbytes() + values.nbytes() + scores.nbytes());
    layer.budget = LayerBudget{};
    layer.budget.selected = std::llround(mean(selection.counts));
    at::Tensor key_valid = selection.key_valid;
    if (key_valid.defined()) key_valid = key_valid.to(call.query.device());
    return exact_attention(call.query, keys, values, k - 1, key_valid, call.scale);
  }

  // Device: dense layers' K/V (+ validity), every layer's prompt K/V during prefill, the partial
  // key caches and their validity, and the sparse layers' partial skews; host: offloaded K/V.
  KVResidentBytes resident() const {
    KVResidentBytes bytes = device_.bytes();
    host_.add_bytes(bytes);
    partial_.add_bytes(bytes);
    if (calibration_)
      for (const infinigen::LayerSkew& s : calibration_->layers) bytes.add_device(s.partial_skew, KVByteRole::kMetadata);
    return bytes;
  }

  double budget_, alpha_, ratio_;
  int64_t dense_layers_;
  std::string calibration_text_;
  int64_t calibration_tokens_;
  // Calibration of the model it was computed for (kept across reset() for the same weights).
  std::shared_ptr<const infinigen::Calibration> calibration_;
  const LayerWeights* calibrated_for_ = nullptr;
  ModelView model_;
  int64_t batch_ = 1;
  std::vector<Layer> layers_;
  at::Tensor previous_hidden_;  // [B, 1, hidden]: the last decode call's normalized layer input
  KVSlotStore device_;          // [B, Hkv, capacity, d] K, V + [B, capacity] validity (dense layers;
                                // every layer during prefill)
  KVSlotStore host_;            // [B, Hkv, capacity, d] K, V in pinned host memory (sparse layers)
  KVSlotStore partial_;         // [B, Hq, capacity, w] partial keys + [B, capacity] validity (sparse layers)
  KVCounters counters_;         // lookups: rows fetched (no reuse between steps, so no hits)
};

ParamSpecs infinigen_params() {
  return {
      budget_param("budget", 0.2,
                   "rows fetched per query head per step as a fraction of the sequence so far (the port's "
                   "int(budget * length)); 1.0 fetches every row",
                   "selected", /*fractions_only=*/true),
      {"alpha", ParamType::kFloat, 99.0,
       "fetch count cap: mean over heads of the rows scoring within alpha of the head's maximum (99: off, the "
       "study's pure top-k; InfiniGen used 4-5)",
       0.0},
      {"partial_weight_ratio", ParamType::kFloat, 0.2,
       "partial channels per head: the top floor(ratio * head_dim) skewed query channels united with the "
       "top ones of the keys",
       0.0, 1.0},
      {"dense_layers", ParamType::kInt, 2, "first layers attending densely with K/V on the device (the port: 2)", 1.0},
      {"calibration_text", ParamType::kString, "niah/paul_graham_essays/avg.txt",
       "calibration text: absolute, or under $KVBENCH_DATA_DIR (default ../shared/data); PG-19's first book "
       "in the reference, which the data folder lacks"},
      {"calibration_tokens", ParamType::kInt, 2048, "leading tokens of the calibration text run once per model", 1.0},
  };
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "infinigen",
    "InfiniGen: skewed partial-channel keys on the device speculate each layer's rows from the previous "
    "layer's input; K/V in pinned host memory, the top budget fraction fetched per query head",
    infinigen_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new InfiniGen(p)); },
    {{"budget_params", {"budget"}}, {"shared_prefill", {{"uses", nlohmann::json::array()}}}}});

}  // namespace kvbench
