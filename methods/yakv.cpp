// SPDX-License-Identifier: Apache-2.0
// "yakv": YAKV, accuracy variant (../shared/docs/methods.md 1.4/1.5, reference: yandex-research/
// context-intensive-kv-offloading shadowkv_models/kv_cache.py ShadowKVCache with rank -1,
// chunk 1, run_cfg.py). Prefill is exact causal attention over the whole prompt. At its end each
// layer keeps, for S prompt tokens, local = min(local_budget, S), outliers = min(outlier_budget,
// S - local) (at chunk 1 the reference's "outliers" are the first tokens), n = S - local - outliers:
//   exact (compute dtype, device):  post-RoPE K and V of the last `local` and first `outliers` tokens
//               (a KVSlotStore with exact growth; decode appends the generated tokens to it)
//   key store   [S, Hkv*d]: pre-RoPE keys, HIGGS 4-bit (D2/N256, group = channel) or exact;
//               device (keys_on_device) or host
//   value store [S, Hkv*d]: values, HIGGS 4-bit or exact; host (the "offloaded" values)
//   landmarks   [n, Hkv*d]: post-RoPE keys of tokens outliers..S-local-1, HIGGS 2-bit
//               (D4/N256, group 128), optional residual quantization (1.7); device
// Decode step: append the exact new k, v (generated region); scores = softmax per query head of
// q.L/sqrt(d) (fp32, rounded to the model dtype as the reference does), max over the GQA group;
// top-k per KV head with k = min(sparse, n); gather the selected rows of both stores (one row
// fetch per distinct position, all heads), RoPE the keys at their positions, attend exactly over
// [local | outliers | selected | generated]. Budgets: sparse_budget a fraction of S
// (floor(fraction*S), as int(frac*S) in the reference) or tokens; short prompts clamp every part
// (the reference would fail in top-k). Batches: one unpadded sequence (the reference asserts
// batch 1).
#include "harness/kv/budget.h"
#include "harness/kv/attention.h"
#include "harness/kv/method.h"
#include "harness/kv/slot_store.h"
#include "methods/yakv_stores.h"

#include <algorithm>
#include <memory>
#include <vector>

namespace kvbench {
namespace {

HiggsConfig grid_config(const nlohmann::json& p, const std::string& prefix, int64_t group) {
  return HiggsConfig{p[prefix + "_grid_dim"].get<int64_t>(), p[prefix + "_grid_size"].get<int64_t>(), group};
}

bool quantized(const nlohmann::json& p, const std::string& name) { return p[name].get<std::string>() == "higgs"; }

class Yakv : public YakvMethod {
 public:
  explicit Yakv(const nlohmann::json& p)
      : params_(p),
        sparse_(TokenBudget::parse(budget_json(p["sparse_budget"]), "method.params.sparse_budget")),
        local_(TokenBudget::parse(budget_json(p["local_budget"]), "method.params.local_budget")),
        outliers_(p["outlier_budget"].get<int64_t>()),
        keys_on_device_(p["keys_on_device"].get<bool>()),
        values_placement_(parse_placement(p["values_placement"].get<std::string>())) {}

  void reset(const ModelView& model, int64_t batch_size, int64_t) override {
    KVBENCH_CHECK(batch_size == 1, "yakv: batch size ", batch_size, " is not supported (one sequence per batch)");
    model_ = model;
    const int64_t channels = model.shape.num_kv_heads * model.shape.head_dim;
    if (channels != channels_) {  // quantizers depend on the channel count only
      channels_ = channels;
      auto make = [&](const char* kind, const char* grid, int64_t group) -> std::unique_ptr<HiggsQuantizer> {
        if (!quantized(params_, kind)) return nullptr;
        return std::make_unique<HiggsQuantizer>(grid_config(params_, grid, group));
      };
      const int64_t key_group = params_["key_group"].get<int64_t>();
      const int64_t value_group = params_["value_group"].get<int64_t>();
      landmark_q_ = make("landmark_quantization", "landmark", params_["landmark_group"].get<int64_t>());
      key_q_ = make("key_quantization", "key", key_group > 0 ? key_group : yakv_pow2_ceil(channels));
      value_q_ = make("value_quantization", "value", value_group > 0 ? value_group : yakv_pow2_ceil(channels));
      residual_q_.reset();
      if (params_["residual_quantization"].get<bool>()) {
        KVBENCH_CHECK_CONFIG(landmark_q_ != nullptr, "method.params.residual_quantization needs "
                             "landmark_quantization: higgs");
        residual_q_ = std::make_unique<HiggsQuantizer>(
            grid_config(params_, "residual", params_["landmark_group"].get<int64_t>()));
      }
    }
    const int64_t layers = model.shape.num_layers;
    layers_.assign(static_cast<size_t>(layers), Layer{});
    // Exact growth: both stores hold exactly their rows (kv_device_bytes counts them); the exact
    // region is local + outliers + generated rows, small next to the rows a step assembles.
    KVSlotStore::Layout layout;
    layout.growth = SlotGrowth::kExact;
    exact_.reset(layers, 1, layout);
    layout.fields = {{"key_pre_rope"}, {"key"}, {"value"}};
    prompt_.reset(layers, 1, layout);
    reset_common(layers);
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding && call.key.size(0) == 1,
                  "yakv: padded or multi-sequence batches are not supported");
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    at::Tensor out = call.phase == AttentionPhase::kPrefill ? prefill(layer, call) : decode(layer, call);
    counters_.observe(resident());
    return out;
  }

 private:
  enum Field : size_t { kKeys, kValues };                 // exact_
  enum PromptField : size_t { kKeyPre, kKey, kValue };    // prompt_
  struct Layer {
    bool compressed = false;
    int64_t prompt = 0;           // S
    YakvRowStore keys, values;    // [S, Hkv*d]
    YakvLandmarks landmarks;      // [n, Hkv*d] for positions outliers .. outliers + n - 1
    LayerBudget budget;
  };

  // Integral numbers >= 1 are token counts.
  static nlohmann::json budget_json(const nlohmann::json& v) {
    if (v.is_number_float() && v.get<double>() >= 1.0) return static_cast<int64_t>(v.get<double>());
    return v;
  }

  // [1, Hkv, s, d] -> token rows [s, Hkv*d].
  static at::Tensor rows_of(const at::Tensor& t) { return t[0].transpose(0, 1).reshape({t.size(2), -1}); }

  at::Tensor prefill(Layer& layer, const AttentionCall& call) {
    KVBENCH_CHECK(!layer.compressed, "yakv: prefill after decode (continued prompts) is not supported");
    prompt_.append(call.layer, {call.key_pre_rope, call.key, call.value});
    at::Tensor out = call.output_wanted
                         ? exact_attention(call.query, prompt_.filled(call.layer, kKey), prompt_.filled(call.layer, kValue),
                                           call.slot_offset, at::Tensor(), call.scale)
                         : at::Tensor();
    if (call.layer == 0) counters_.set_tokens_attended(static_cast<double>(prompt_.length(call.layer)));
    if (call.last_prefill_chunk) compress(layer, call);
    return out;
  }

  void compress(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    const at::Tensor prompt_k = prompt_.filled(l, kKey), prompt_v = prompt_.filled(l, kValue);
    const int64_t s = prompt_.length(l);
    const int64_t local = std::min(local_.resolve(s, false), s);
    const int64_t outliers = std::min(outliers_, s - local);
    const int64_t n = s - local - outliers;
    const at::ScalarType dtype = call.key.scalar_type();
    const at::Device device = call.key.device();
    // Exact rows, in attention order: the last `local` prompt tokens, then the first `outliers`.
    exact_.set_capacity(l, local + outliers, {prompt_k, prompt_v});
    exact_.append(l, {prompt_k.narrow(2, s - local, local), prompt_v.narrow(2, s - local, local)});
    exact_.append(l, {prompt_k.narrow(2, 0, outliers), prompt_v.narrow(2, 0, outliers)});
    layer.keys.build(rows_of(prompt_.filled(l, kKeyPre)), key_q_.get(), dtype,
                     keys_on_device_ ? KVPlacement::kDevice : KVPlacement::kPinnedHost, device);
    layer.values.build(rows_of(prompt_v), value_q_.get(), dtype, values_placement_, device);
    layer.landmarks.clear();
    if (n > 0)
      layer.landmarks.build(rows_of(prompt_k.narrow(2, outliers, n)), landmark_q_.get(), residual_q_.get(),
                            params_["meta_chunk_size"].get<int64_t>(), false, dtype);
    layer.prompt = s;
    layer.budget = LayerBudget{};
    layer.budget.local = local;
    layer.budget.outliers = outliers;
    layer.budget.selected = std::min(sparse_.resolve(s, false), n);
    prompt_.clear(l);
    layer.compressed = true;
  }

  at::Tensor decode(Layer& layer, const AttentionCall& call) {
    KVBENCH_CHECK(layer.compressed, "yakv: decode before the prompt was prefilled");
    const int64_t l = call.layer;
    exact_.append(l, {call.key, call.value});
    layer.budget.generated += 1;
    const int64_t k = layer.budget.selected;
    at::Tensor keys = exact_.filled(l, kKeys), values = exact_.filled(l, kValues);
    counters_.set_transient_bytes(0);
    if (k > 0) {
      const at::ScalarType dtype = call.query.scalar_type();
      const int64_t hkv = keys.size(1), d = keys.size(3);
      at::Tensor landmarks = layer.landmarks.dequantize(dtype).view({-1, hkv, d});  // [n, Hkv, d]
      at::Tensor scores = yakv_scores_softmax_max(call.query[0].select(1, 0), landmarks, call.scale, dtype);
      at::Tensor positions = yakv_topk(scores, k) + layer.budget.outliers;  // [Hkv, k]
      selections_.at(static_cast<size_t>(l)) = positions;
      // One fetch per distinct position (a row holds every KV head); inverse maps back per head.
      auto [unique, inverse] = at::_unique(positions.reshape({-1}), /*sorted=*/true, /*return_inverse=*/true);
      inverse = inverse.view({hkv, k});
      auto per_head = [&](const at::Tensor& rows) {  // [u, Hkv*d] -> [1, Hkv, k, d]
        at::Tensor r = rows.view({-1, hkv, d}).permute({1, 0, 2});  // [Hkv, u, d]
        return r.gather(1, inverse.unsqueeze(-1).expand({hkv, k, d})).unsqueeze(0);
      };
      HostToDevice& h2d = counters_.transfer(call.key.device());
      at::Tensor sel_k_pre = per_head(layer.keys.fetch(unique, h2d, dtype));
      at::Tensor sel_v = per_head(layer.values.fetch(unique, h2d, dtype));
      // RoPE at each head's own positions: heads as the batch dimension.
      at::Tensor sel_k = model_.rope->apply(sel_k_pre.transpose(0, 1), positions).transpose(0, 1);
      // The step's rows [local | outliers | selected | generated] (a transient buffer).
      const int64_t fixed = layer.budget.local + layer.budget.outliers;
      keys = at::cat({keys.narrow(2, 0, fixed), sel_k, keys.narrow(2, fixed, keys.size(2) - fixed)}, 2);
      values = at::cat({values.narrow(2, 0, fixed), sel_v, values.narrow(2, fixed, values.size(2) - fixed)}, 2);
      counters_.set_transient_bytes(static_cast<int64_t>(landmarks.nbytes() + keys.nbytes() + values.nbytes()));
    }
    end_decode_step(l, static_cast<double>(keys.size(2)));
    return exact_attention(call.query, keys, values, keys.size(2) - 1, at::Tensor(), call.scale);
  }

  // Device: the prompt and exact stores, stored rows on the device, landmarks (metadata); host:
  // the offloaded rows.
  KVResidentBytes resident() const override {
    KVResidentBytes bytes = exact_.bytes();
    prompt_.add_bytes(bytes);
    for (const Layer& l : layers_) {
      for (const YakvRowStore* store : {&l.keys, &l.values}) {
        if (store->on_host())
          bytes.add_host(store->nbytes());
        else
          bytes.kv_device += store->nbytes();
      }
      bytes.metadata_device += l.landmarks.nbytes();
    }
    return bytes;
  }

  std::vector<LayerBudget> layer_budgets() const override {
    std::vector<LayerBudget> budgets;
    for (const Layer& l : layers_)
      if (l.compressed) budgets.push_back(l.budget);
    return budgets;
  }

  nlohmann::json variant_stats() const override {
    nlohmann::json s = {{"sparse_budget", sparse_.describe()}, {"local_budget", local_.describe()},
                        {"outlier_budget", outliers_}};
    if (!layers_.empty() && layers_[0].compressed) {
      const Layer& l = layers_[0];
      s["prompt_tokens"] = l.prompt;
      s["landmarks"] = l.landmarks.count();
      s["selected"] = l.budget.selected;
    }
    return s;
  }

  nlohmann::json params_;
  TokenBudget sparse_, local_;
  int64_t outliers_;
  bool keys_on_device_;
  KVPlacement values_placement_;
  int64_t channels_ = -1;
  std::unique_ptr<HiggsQuantizer> landmark_q_, key_q_, value_q_, residual_q_;
  ModelView model_;
  std::vector<Layer> layers_;
  KVSlotStore prompt_;  // during prefill: the prompt so far, [1, Hkv, s, d] pre-RoPE keys, keys, values
  KVSlotStore exact_;   // after it: [1, Hkv, local + outliers + generated, d] post-RoPE keys, values
};

ParamSpecs yakv_params() {
  const std::vector<std::string> q = {"higgs", "none"};
  auto grid = [](const std::string& prefix, int64_t dim, const char* what) {
    return std::vector<ParamSpec>{
        {prefix + "_grid_dim", ParamType::kInt, dim, std::string("HIGGS grid dimension D of the ") + what, 1.0},
        {prefix + "_grid_size", ParamType::kInt, 256, std::string("HIGGS grid size N of the ") + what, 2.0, 256.0}};
  };
  ParamSpecs specs = {
      budget_param("sparse_budget", 0.03125,
                   "tokens selected per KV head each step: a fraction of the prompt (< 1), \"P%\" or a token count",
                   "selected"),
      budget_param("local_budget", 64, "last prompt tokens kept exactly: tokens, a fraction (< 1) or \"P%\"", "local"),
      with_budget_role({"outlier_budget", ParamType::kInt, 0,
                        "first prompt tokens kept exactly (chunk-1 'outliers')", 0.0},
                       "outliers"),
      {"landmark_quantization", ParamType::kString, "higgs", "landmark format: HIGGS or exact", {}, {}, q},
      {"landmark_group", ParamType::kInt, 128, "Hadamard group of the landmark quantizer", 1.0},
      {"key_quantization", ParamType::kString, "higgs", "key store format (pre-RoPE keys)", {}, {}, q},
      {"key_group", ParamType::kInt, 0, "Hadamard group of the key quantizer (0: the channel Hkv*d)", 0.0},
      {"value_quantization", ParamType::kString, "higgs", "value store format", {}, {}, q},
      {"value_group", ParamType::kInt, 0, "Hadamard group of the value quantizer (0: the channel Hkv*d)", 0.0},
      {"keys_on_device", ParamType::kBool, true, "key store on the device (false: pinned host memory)"},
      {"values_placement", ParamType::kString, "pinned", "where the value store lives", {}, {}, {"device", "pinned", "mapped"}},
      {"residual_quantization", ParamType::kBool, false, "residual landmark quantization (methods.md 1.7)"},
      {"meta_chunk_size", ParamType::kInt, 1, "landmarks averaged per meta-landmark (residual quantization)", 1.0},
  };
  for (auto extra : {grid("landmark", 4, "landmarks"), grid("key", 2, "key store"), grid("value", 2, "value store"),
                     grid("residual", 4, "residual landmarks")})
    specs.insert(specs.end(), extra.begin(), extra.end());
  return specs;
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "yakv",
    "YAKV accuracy variant: per-token 2-bit HIGGS landmarks, softmax-max GQA top-k, 4-bit HIGGS K/V, local window",
    yakv_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new Yakv(p)); },
    {{"budget_params", {"sparse_budget", "local_budget", "outlier_budget"}},
     {"shared_prefill", {{"uses", {"key_pre_rope"}}}}}});

}  // namespace kvbench
