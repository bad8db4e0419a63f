// SPDX-License-Identifier: Apache-2.0
// "streaming_llm" (Xiao et al., ICLR 2024; reference: mit-han-lab/streaming-llm
// examples/run_streaming_llama.py + kv_cache.py): attention sinks + a recent window.
// Prefill is exact causal attention over the whole prompt (every chunk sees all earlier prompt
// tokens). At the end of prefill each layer keeps the first `sink_tokens` and the last
// `recent_tokens` prompt tokens and evicts the middle; every decode step first evicts the oldest
// non-sink entry when the cache is full (so it never holds more than sink + recent entries), then
// appends the new token and attends exactly over the cache.
// Positions: with reassign_positions (the reference's behaviour) keys are kept before RoPE and
// rotated at their index in the cache, the query at the cache's end; this is done relative to the
// query's real position p (key i of n at p - (n-1-i), which equals reassigning positions 0..n-1,
// since attention scores depend only on position differences). Without it, keys keep their
// original positions (the kvpress StreamingLLMPress behaviour).
// Storage per layer: keys [1, Hkv, n, d] (pre-RoPE when reassigning), values [1, Hkv, n, d], on the
// compute device. Batches must not be padded (kvbench runs one sequence per sample).
// Accounting: kv_device_bytes = bytes of the stored keys/values (no metadata). Layer budgets: the
// cache holds [prompt entries | generated entries] with the middle evicted; prompt entries are
// reported as `sink` (the first min(sink_tokens, prompt entries)) and `local` (the rest of the kept
// prompt window), generated entries still in the cache as `generated`; total() = tokens attended.
#include "harness/kv/attention.h"
#include "harness/kv/rope.h"
#include "harness/kv/method.h"

#include <algorithm>
#include <vector>

namespace kvbench {
namespace {

class StreamingLLM : public KVMethod {
 public:
  explicit StreamingLLM(const nlohmann::json& params)
      : sink_(params["sink_tokens"].get<int64_t>()),
        recent_(params["recent_tokens"].get<int64_t>()),
        reassign_(params["reassign_positions"].get<bool>()) {}

  void reset(const ModelView& model, int64_t batch_size, int64_t) override {
    model_ = model;
    batch_ = batch_size;
    layers_.assign(static_cast<size_t>(model.shape.num_layers), Layer{});
    peak_device_bytes_ = 0;
    tokens_attended_ = 0;
    evicted_ = 0;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "streaming_llm: padded batches are not supported");
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    at::Tensor out;
    if (call.phase == AttentionPhase::kPrefill) {
      // Exact attention over every prompt token so far (post-RoPE keys at real positions).
      layer.prompt_keys = append(layer.prompt_keys, call.key);
      layer.values = append(layer.values, call.value);
      if (reassign_) layer.keys = append(layer.keys, call.key_pre_rope);
      out = exact_attention(call.query, layer.prompt_keys, layer.values, call.slot_offset, at::Tensor(),
                            call.scale);
      if (call.last_prefill_chunk) {
        if (!reassign_) layer.keys = layer.prompt_keys;
        layer.prompt_keys = at::Tensor();
        layer.prompt_entries = layer.keys.size(2);
        evict_to(layer, sink_ + recent_);
      }
      if (call.layer == 0) tokens_attended_ = static_cast<double>(call.slot_offset + call.key.size(2));
    } else {
      evict_to(layer, sink_ + recent_ - 1);  // room for the new token
      layer.keys = append(layer.keys, reassign_ ? call.key_pre_rope : call.key);
      layer.values = append(layer.values, call.value);
      ++layer.generated_entries;
      const int64_t n = layer.keys.size(2);
      at::Tensor keys = layer.keys;
      if (reassign_) {
        // Key i of n sits n-1-i positions before the query.
        at::Tensor offsets = at::arange(n - 1, -1, -1, call.positions.options());
        at::Tensor positions = (call.positions.select(1, 0).unsqueeze(1) - offsets.unsqueeze(0));
        keys = model_.rope->apply(layer.keys, positions);
      }
      out = exact_attention(call.query, keys, layer.values, n - 1, at::Tensor(), call.scale);
      if (call.layer == 0) tokens_attended_ = static_cast<double>(n);
    }
    peak_device_bytes_ = std::max(peak_device_bytes_, device_bytes());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m;
    m.kv_device_bytes = device_bytes();
    m.device_bytes = m.kv_device_bytes;
    m.peak_device_bytes = peak_device_bytes_;
    m.tokens_attended = tokens_attended_;
    if (!layers_.empty() && layers_.front().keys.defined()) {
      for (const Layer& l : layers_) {
        LayerBudget b;
        b.sink = std::min(sink_, l.prompt_entries);
        b.local = l.prompt_entries - b.sink;
        b.generated = l.generated_entries;
        m.layer_budgets.push_back(b);
      }
    }
    return m;
  }

  nlohmann::json stats() const override {
    return {{"sink_tokens", sink_}, {"recent_tokens", recent_}, {"evicted_entries", evicted_}};
  }

 private:
  struct Layer {
    at::Tensor prompt_keys;  // [1, Hkv, S, d] post-RoPE, during prefill only
    at::Tensor keys;         // [1, Hkv, n, d] pre-RoPE (reassign_positions) or post-RoPE
    at::Tensor values;       // [1, Hkv, n, d]
    // Entries in the cache, in order: prompt_entries prompt tokens, then generated_entries tokens.
    int64_t prompt_entries = 0;
    int64_t generated_entries = 0;
  };

  static at::Tensor append(const at::Tensor& cache, const at::Tensor& added) {
    return cache.defined() ? at::cat({cache, added}, 2) : added.contiguous();
  }

  // Keeps the first sink_ entries and the most recent (capacity - sink_) ones.
  void evict_to(Layer& layer, int64_t capacity) {
    const int64_t n = layer.keys.size(2);
    if (n <= capacity) return;
    const int64_t keep_recent = std::max<int64_t>(capacity - sink_, 0);
    const int64_t sink = std::min(sink_, capacity);
    auto cut = [&](const at::Tensor& t) {
      return at::cat({t.narrow(2, 0, sink), t.narrow(2, n - keep_recent, keep_recent)}, 2).contiguous();
    };
    layer.keys = cut(layer.keys);
    layer.values = cut(layer.values);
    // Evicted: entries [sink, n - keep_recent); the prompt entries among them go first.
    const int64_t evicted = n - sink - keep_recent;
    const int64_t evicted_prompt = std::max<int64_t>(std::min(n - keep_recent, layer.prompt_entries) - sink, 0);
    layer.prompt_entries -= evicted_prompt;
    layer.generated_entries -= evicted - evicted_prompt;
    evicted_ += evicted;
  }

  int64_t device_bytes() const {
    int64_t total = 0;
    for (const Layer& l : layers_)
      for (const at::Tensor* t : {&l.prompt_keys, &l.keys, &l.values})
        if (t->defined()) total += static_cast<int64_t>(t->nbytes());
    return total;
  }

  int64_t sink_;
  int64_t recent_;
  bool reassign_;
  ModelView model_;
  int64_t batch_ = 1;
  std::vector<Layer> layers_;
  int64_t peak_device_bytes_ = 0;
  double tokens_attended_ = 0;
  int64_t evicted_ = 0;
};

ParamSpecs streaming_llm_params() {
  ParamSpec sink{"sink_tokens", ParamType::kInt, 4, "attention-sink tokens kept from the start", 0.0};
  ParamSpec recent{"recent_tokens", ParamType::kInt, 2000, "most recent tokens kept", 1.0};
  sink.budget_role = "sink";
  recent.budget_role = "local";
  ParamSpec reassign{"reassign_positions", ParamType::kBool, true,
                     "RoPE at cache positions (reference) instead of original positions (kvpress)"};
  return {sink, recent, reassign};
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "streaming_llm",
    "Attention sinks + recent window (StreamingLLM): exact prefill, then the middle is evicted",
    streaming_llm_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new StreamingLLM(p)); },
    {{"budget_params", {"sink_tokens", "recent_tokens"}}}});

}  // namespace kvbench
