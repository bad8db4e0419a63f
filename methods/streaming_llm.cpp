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
// Storage per layer (KVSlotStore, exact growth): keys [1, Hkv, n, d] (pre-RoPE when reassigning),
// values [1, Hkv, n, d], on the compute device; eviction moves the recent window in place.
// Batches must not be padded (kvbench runs one sequence per sample).
// Accounting: kv_device_bytes = bytes of the stored keys/values (no metadata). Layer budgets: the
// cache holds [prompt entries | generated entries] with the middle evicted; prompt entries are
// reported as `sink` (the first min(sink_tokens, prompt entries)) and `local` (the rest of the kept
// prompt window), generated entries still in the cache as `generated`; total() = tokens attended.
#include "harness/kv/attention.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/rope.h"
#include "harness/kv/method.h"
#include "harness/kv/slot_store.h"

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
    // Exact growth: the stores hold exactly the rows kept (what kv_device_bytes reports); once the
    // cache holds sink + recent entries a decode step evicts and appends in place.
    KVSlotStore::Layout layout;
    layout.growth = SlotGrowth::kExact;
    cache_.reset(model.shape.num_layers, 1, layout);
    layout.fields = {{"prompt_keys"}};
    prompt_keys_.reset(model.shape.num_layers, 1, layout);
    layers_.assign(static_cast<size_t>(model.shape.num_layers), Layer{});
    counters_.reset();
    evicted_ = 0;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "streaming_llm: padded batches are not supported");
    const int64_t l = call.layer;
    Layer& layer = layers_.at(static_cast<size_t>(l));
    at::Tensor out;
    if (call.phase == AttentionPhase::kPrefill) {
      // Exact attention over every prompt token so far (post-RoPE keys at real positions). With
      // reassign_positions the cache keeps pre-RoPE keys and the post-RoPE ones wait in prompt_keys_.
      cache_.append(l, {reassign_ ? call.key_pre_rope : call.key, call.value});
      if (reassign_) prompt_keys_.append(l, {call.key});
      const at::Tensor keys = reassign_ ? prompt_keys_.filled(l, 0) : cache_.filled(l, kKeys);
      if (call.output_wanted)
        out = exact_attention(call.query, keys, cache_.filled(l, kValues), call.slot_offset, at::Tensor(), call.scale);
      if (call.last_prefill_chunk) {
        prompt_keys_.clear(l);
        layer.prompt_entries = cache_.length(l);
        evict_to(l, sink_ + recent_);
        cache_.set_capacity(l, cache_.length(l));  // the evicted middle is freed
      }
      if (call.layer == 0) counters_.set_tokens_attended(static_cast<double>(call.slot_offset + call.key.size(2)));
    } else {
      evict_to(l, sink_ + recent_ - 1);  // room for the new token (in place when the cache is full)
      cache_.append(l, {reassign_ ? call.key_pre_rope : call.key, call.value});
      ++layer.generated_entries;
      const int64_t n = cache_.length(l);
      at::Tensor keys = cache_.filled(l, kKeys);
      if (reassign_) {
        // Key i of n sits n-1-i positions before the query.
        at::Tensor offsets = at::arange(n - 1, -1, -1, call.positions.options());
        at::Tensor positions = (call.positions.select(1, 0).unsqueeze(1) - offsets.unsqueeze(0));
        keys = model_.rope->apply(keys, positions);
      }
      out = exact_attention(call.query, keys, cache_.filled(l, kValues), n - 1, at::Tensor(), call.scale);
      if (call.layer == 0) counters_.set_tokens_attended(static_cast<double>(n));
    }
    counters_.observe(resident());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(resident());
    if (!layers_.empty() && cache_.length(0) > 0) {
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
  enum Field : size_t { kKeys, kValues };
  // Entries in the cache, in order: prompt_entries prompt tokens, then generated_entries tokens.
  struct Layer {
    int64_t prompt_entries = 0;
    int64_t generated_entries = 0;
  };

  // Keeps the first sink_ entries and the most recent (capacity - sink_) ones.
  void evict_to(int64_t l, int64_t capacity) {
    Layer& layer = layers_.at(static_cast<size_t>(l));
    const int64_t n = cache_.length(l);
    if (n <= capacity) return;
    const int64_t keep_recent = std::max<int64_t>(capacity - sink_, 0);
    const int64_t sink = std::min(sink_, capacity);
    cache_.keep_ranges(l, {{0, sink}, {n - keep_recent, keep_recent}});
    // Evicted: entries [sink, n - keep_recent); the prompt entries among them go first.
    const int64_t evicted = n - sink - keep_recent;
    const int64_t evicted_prompt = std::max<int64_t>(std::min(n - keep_recent, layer.prompt_entries) - sink, 0);
    layer.prompt_entries -= evicted_prompt;
    layer.generated_entries -= evicted - evicted_prompt;
    evicted_ += evicted;
  }

  KVResidentBytes resident() const {
    KVResidentBytes bytes = cache_.bytes();
    prompt_keys_.add_bytes(bytes);
    return bytes;
  }

  int64_t sink_;
  int64_t recent_;
  bool reassign_;
  ModelView model_;
  int64_t batch_ = 1;
  // Per layer [1, Hkv, n, d]: keys (pre-RoPE when reassigning, else post-RoPE) and values.
  KVSlotStore cache_;
  KVSlotStore prompt_keys_;  // [1, Hkv, S, d] post-RoPE, during prefill with reassign_positions only
  std::vector<Layer> layers_;
  KVCounters counters_;
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
    {{"budget_params", {"sink_tokens", "recent_tokens"}}, {"shared_prefill", {{"uses", {"key_pre_rope"}}}}}});

}  // namespace kvbench
