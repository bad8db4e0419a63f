// SPDX-License-Identifier: Apache-2.0
// "yakv_gpu": YAKV as in the reference's GPU inference engine (../shared/docs/methods.md 1.6; reference:
// yandex-research/context-intensive-kv-offloading inference/python/minisgl/attention/shadowkv.py,
// kernel/shadowkv/csrc/metadata_kernels.cu). Every key (post-RoPE) and value, prompt and generated,
// is stored in fp8 e4m3 (or bf16 / the compute dtype) in host-mapped memory [capacity, Hkv, d]
// (a KVSlotStore placed per kv_placement, grown geometrically past the reset() hint) and read back by a gather each decode step (zero-copy on CUDA; the bytes read are counted).
// Length split of a prompt of S tokens (float arithmetic, as the reference kernel):
//   S <= min_seqlen_to_prune: no pruning (prefix = S);
//   prefix = min(ceil(prefix_budget*S), S), suffix = min(ceil(suffix_budget*S), S - prefix),
//   infix = the rest, pruned = min(floor(sparse_budget*S), infix); if prefix + pruned + suffix is
//   below both S and min_seqlen_to_prune, pruned = min_seqlen_to_prune - prefix - suffix.
// Landmarks: post-RoPE keys of the infix tokens, rows [infix, Hkv*d], HIGGS 2-bit (D4/N256) with
// one Hadamard over the whole row (padded to a power of two) and one bfloat16 scale per token.
// Decode step: store the new k, v; query = mean of the G query heads of each KV head; scores =
// raw dot products with the dequantized landmarks; top-k per KV head (k = pruned); gather
// [prefix | selected | suffix + generated] for every KV head; exact attention over them.
// Batches: one unpadded sequence.
#include "harness/kv/attention.h"
#include "harness/kv/budget.h"
#include "harness/kv/method.h"
#include "harness/kv/slot_store.h"
#include "methods/yakv_stores.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

namespace kvbench {
namespace {

struct Split {
  int64_t prefix = 0, infix = 0, pruned = 0;
};

// The reference's find_prefix_infix_and_pruned_infix_lengths at chunk size 1.
Split split_lengths(int64_t s, float prefix_ratio, float sparse_ratio, float suffix_ratio, int64_t min_prune) {
  if (s <= min_prune) return {s, 0, 0};
  const float sf = static_cast<float>(s);
  const int64_t prefix = std::min(static_cast<int64_t>(std::ceil(prefix_ratio * sf)), s);
  const int64_t remaining = s - prefix;
  if (remaining == 0) return {prefix, 0, 0};
  const int64_t suffix = std::min(static_cast<int64_t>(std::ceil(suffix_ratio * sf)), remaining);
  const int64_t infix = remaining - suffix;
  int64_t pruned = std::min(static_cast<int64_t>(sparse_ratio * sf), infix);
  if (prefix + pruned + suffix < s && prefix + pruned + suffix < min_prune) pruned = min_prune - prefix - suffix;
  return {prefix, infix, pruned};
}

class YakvGpu : public YakvMethod {
 public:
  explicit YakvGpu(const nlohmann::json& p)
      : prefix_ratio_(static_cast<float>(parse_budget_fraction(p["prefix_budget"], "method.params.prefix_budget"))),
        sparse_ratio_(static_cast<float>(parse_budget_fraction(p["sparse_budget"], "method.params.sparse_budget"))),
        suffix_ratio_(static_cast<float>(parse_budget_fraction(p["suffix_budget"], "method.params.suffix_budget"))),
        min_prune_(p["min_seqlen_to_prune"].get<int64_t>()),
        quantize_landmarks_(p["quantize_landmarks"].get<bool>()),
        kv_dtype_name_(p["kv_cache_dtype"].get<std::string>()),
        placement_(parse_placement(p["kv_placement"].get<std::string>())) {
    KVBENCH_CHECK_CONFIG(prefix_ratio_ + sparse_ratio_ + suffix_ratio_ <= 1.0f + 1e-6f,
                         "method.params: prefix_budget + sparse_budget + suffix_budget must not exceed 1");
  }

  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    KVBENCH_CHECK(batch_size == 1, "yakv_gpu: batch size ", batch_size, " is not supported (one sequence per batch)");
    model_ = model;
    const int64_t channels = model.shape.num_kv_heads * model.shape.head_dim;
    if (quantize_landmarks_ && channels != channels_)
      landmark_q_ = std::make_unique<HiggsQuantizer>(HiggsConfig{4, 256, yakv_pow2_ceil(channels)});
    channels_ = channels;
    const int64_t layers = model.shape.num_layers;
    layers_.assign(static_cast<size_t>(layers), Layer{});
    // Every key and value, token-major [capacity, Hkv, d] in the storage dtype, placed per
    // kv_placement, grown geometrically from the reset() hint.
    KVSlotStore::Layout store;
    store.fields = {{"keys", 0}, {"values", 0}};
    store.placement = placement_;
    store_.reset(layers, max_tokens, store);
    KVSlotStore::Layout prompt;
    prompt.growth = SlotGrowth::kExact;
    prompt_.reset(layers, 1, prompt);
    reset_common(layers);
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding && call.key.size(0) == 1,
                  "yakv_gpu: padded or multi-sequence batches are not supported");
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    KVBENCH_ASSERT(call.slot_offset == store_.length(call.layer), "yakv_gpu: layer ", call.layer, " expected slot ",
                   store_.length(call.layer), ", got ", call.slot_offset);
    // Post-RoPE keys and values, [T, Hkv, d] in the storage dtype.
    store_.append(call.layer, {encode(call.key[0].transpose(0, 1)), encode(call.value[0].transpose(0, 1))});
    at::Tensor out = call.phase == AttentionPhase::kPrefill ? prefill(layer, call) : decode(layer, call);
    counters_.observe(resident());
    return out;
  }

 private:
  enum Field : size_t { kKeys, kValues };  // store_ and prompt_
  struct Layer {
    bool split_done = false;
    int64_t prompt = 0;
    Split split;
    YakvLandmarks landmarks;     // [infix, Hkv*d]
  };

  bool fp8() const { return kv_dtype_name_ == "fp8_e4m3"; }
  at::ScalarType storage_dtype(at::ScalarType compute) const {
    if (fp8()) return at::kByte;  // e4m3 bytes; viewed as Float8_e4m3fn for conversions
    return kv_dtype_name_ == "bf16" ? at::kBFloat16 : compute;
  }
  at::Tensor encode(const at::Tensor& t) const {  // [.., d] compute dtype -> storage
    return fp8() ? t.to(at::kFloat8_e4m3fn).view(at::kByte) : t.to(storage_dtype(t.scalar_type()));
  }
  at::Tensor decode_rows(const at::Tensor& t, at::ScalarType compute) const {
    return fp8() ? t.view(at::kFloat8_e4m3fn).to(compute) : t.to(compute);
  }

  at::Tensor prefill(Layer& layer, const AttentionCall& call) {
    KVBENCH_CHECK(!layer.split_done, "yakv_gpu: prefill after decode (continued prompts) is not supported");
    const int64_t l = call.layer;
    prompt_.append(l, {call.key, call.value});
    const at::Tensor prompt_k = prompt_.filled(l, kKeys);
    at::Tensor out = call.output_wanted ? exact_attention(call.query, prompt_k, prompt_.filled(l, kValues),
                                                          call.slot_offset, at::Tensor(), call.scale)
                                         : at::Tensor();
    if (l == 0) counters_.set_tokens_attended(static_cast<double>(prompt_.length(l)));
    if (call.last_prefill_chunk) {
      const int64_t s = prompt_.length(l);
      layer.prompt = s;
      layer.split = split_lengths(s, prefix_ratio_, sparse_ratio_, suffix_ratio_, min_prune_);
      if (layer.split.infix > 0) {
        at::Tensor rows = prompt_k[0].narrow(1, layer.split.prefix, layer.split.infix).transpose(0, 1)
                              .reshape({layer.split.infix, -1});
        layer.landmarks.build(rows, landmark_q_.get(), nullptr, 1, /*bf16_scales=*/true,
                              quantize_landmarks_ ? at::kBFloat16 : call.key.scalar_type());
      }
      prompt_.clear(l);
      layer.split_done = true;
    }
    return out;
  }

  at::Tensor decode(Layer& layer, const AttentionCall& call) {
    KVBENCH_CHECK(layer.split_done, "yakv_gpu: decode before the prompt was prefilled");
    const int64_t l = call.layer;
    const at::ScalarType dtype = call.query.scalar_type();
    const at::Device device = call.query.device();
    const int64_t hkv = call.key.size(1), d = call.key.size(3);
    const Split& sp = layer.split;
    auto range = [&](int64_t begin, int64_t end) {
      return at::arange(begin, end, at::TensorOptions().dtype(at::kLong).device(device)).unsqueeze(0).expand({hkv, end - begin});
    };
    std::vector<at::Tensor> parts = {range(0, sp.prefix)};
    at::Tensor landmarks;
    if (sp.pruned > 0) {
      landmarks = layer.landmarks.dequantize(dtype).view({-1, hkv, d});  // [infix, Hkv, d]
      at::Tensor scores = yakv_scores_mean_query(call.query[0].select(1, 0), landmarks);
      at::Tensor& selection = selections_.at(static_cast<size_t>(l));
      selection = yakv_topk(scores, sp.pruned) + sp.prefix;
      parts.push_back(selection);
    }
    parts.push_back(range(sp.prefix + sp.infix, store_.length(l)));
    at::Tensor positions = at::cat(parts, 1);  // [Hkv, P]
    const int64_t p = positions.size(1);
    // Flat row index of (position, head) in the [capacity * Hkv, d] view of the store.
    at::Tensor flat = (positions * hkv + at::arange(hkv, positions.options()).unsqueeze(1)).reshape({-1});
    const bool on_host = placement_ != KVPlacement::kDevice;
    auto gather = [&](size_t field) {
      const at::Tensor src = store_.storage(l, field).view({-1, d});
      at::Tensor dst = at::empty({hkv * p, d}, src.options().device(device));
      if (on_host) {
        counters_.transfer(device).gather(src, 0, flat, dst);
      } else {
        at::index_select_out(dst, src, 0, flat);
      }
      return dst;
    };
    at::Tensor k_raw = gather(kKeys), v_raw = gather(kValues);
    if (on_host) counters_.transfer(device).wait();
    at::Tensor keys = decode_rows(k_raw, dtype).view({1, hkv, p, d});
    at::Tensor values = decode_rows(v_raw, dtype).view({1, hkv, p, d});
    counters_.set_transient_bytes(static_cast<int64_t>(k_raw.nbytes() + v_raw.nbytes() + keys.nbytes() + values.nbytes()) +
                                  (landmarks.defined() ? static_cast<int64_t>(landmarks.nbytes()) : 0));
    end_decode_step(l, static_cast<double>(p));
    return exact_attention(call.query, keys, values, p - 1, at::Tensor(), call.scale);
  }

  // The K/V store on the device or the host (per kv_placement); the prompt rows and landmarks
  // on the device.
  KVResidentBytes resident() const override {
    KVResidentBytes bytes = store_.bytes();
    prompt_.add_bytes(bytes);
    for (const Layer& l : layers_) bytes.metadata_device += l.landmarks.nbytes();
    return bytes;
  }

  std::vector<LayerBudget> layer_budgets() const override {
    std::vector<LayerBudget> budgets;
    for (size_t i = 0; i < layers_.size(); ++i) {
      const Layer& l = layers_[i];
      if (!l.split_done) continue;
      LayerBudget b;
      b.sink = l.split.prefix;
      b.selected = l.split.pruned;
      b.local = l.prompt - l.split.prefix - l.split.infix;
      b.generated = store_.length(static_cast<int64_t>(i)) - l.prompt;
      budgets.push_back(b);
    }
    return budgets;
  }

  nlohmann::json variant_stats() const override {
    nlohmann::json s = {{"kv_cache_dtype", kv_dtype_name_}, {"kv_placement", placement_name(placement_)}};
    if (!layers_.empty() && layers_[0].split_done) {
      const Layer& l = layers_[0];
      s["prompt_tokens"] = l.prompt;
      s["prefix"] = l.split.prefix;
      s["infix"] = l.split.infix;
      s["pruned_infix"] = l.split.pruned;
    }
    return s;
  }

  float prefix_ratio_, sparse_ratio_, suffix_ratio_;
  int64_t min_prune_;
  bool quantize_landmarks_;
  std::string kv_dtype_name_;
  KVPlacement placement_;
  int64_t channels_ = -1;
  std::unique_ptr<HiggsQuantizer> landmark_q_;
  ModelView model_;
  std::vector<Layer> layers_;
  KVSlotStore store_;   // per layer keys, values [capacity, Hkv, d] in the storage dtype (fp8 as uint8 bytes)
  KVSlotStore prompt_;  // prefill only: the prompt so far, [1, Hkv, s, d] keys, values in the compute dtype
};

ParamSpecs yakv_gpu_params() {
  return {
      budget_param("prefix_budget", 0.00625, "fraction of the prompt kept at its start (sinks), or \"P%\"", "sink",
                   /*fractions_only=*/true),
      budget_param("sparse_budget", 0.015625, "fraction of the prompt selected per KV head each step, or \"P%\"",
                   "selected", /*fractions_only=*/true),
      budget_param("suffix_budget", 0.00625, "fraction of the prompt kept at its end (local window), or \"P%\"",
                   "local", /*fractions_only=*/true),
      {"min_seqlen_to_prune", ParamType::kInt, 512, "prompts up to this length are not pruned; pruned length floor", 0.0},
      {"quantize_landmarks", ParamType::kBool, true, "2-bit HIGGS landmarks (false: bf16 landmarks)"},
      {"kv_cache_dtype", ParamType::kString, "fp8_e4m3", "storage format of every key and value", {}, {},
       {"fp8_e4m3", "bf16", "compute"}},
      {"kv_placement", ParamType::kString, "mapped", "where the K/V store lives (mapped: zero-copy reads)", {}, {},
       {"device", "pinned", "mapped"}},
  };
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "yakv_gpu",
    "YAKV GPU-inference variant: prefix/suffix/sparse ratios, mean-query 2-bit landmark top-k, fp8 K/V in mapped host memory",
    yakv_gpu_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new YakvGpu(p)); },
    {{"budget_params", {"prefix_budget", "sparse_budget", "suffix_budget", "min_seqlen_to_prune"}},
     {"shared_prefill", {{"uses", nlohmann::json::array()}}}}});

}  // namespace kvbench
