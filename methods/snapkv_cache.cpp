// SPDX-License-Identifier: Apache-2.0
// SnapKV-style one-shot prompt compression (methods/snapkv_cache.h), shared by snapkv and pyramidkv.
// Storage per layer (KVSlotStore, harness/kv/slot_store.h): keys (post-RoPE, original positions)
// and values [B, H, capacity, d] on the compute device, H = Hkv, or Hq for a compressed layer with
// gqa: repeat (the reference repeats K/V to the query heads before choosing, so each query head
// keeps its own rows). During prefill the store grows from the reset() hint; at compression it keeps
// the chosen rows in place and its capacity becomes kept + the generated tokens still to come
// (reset()'s max_tokens - S), so device bytes are what the compressed cache really allocates.
// The last `window` prompt queries of the layer are carried across prefill chunks (transient bytes).
// Batches must not be padded (kvbench runs one sequence per sample).
#include "methods/snapkv_cache.h"

#include "harness/error.h"
#include "harness/kv/attention.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/slot_store.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kvbench {
namespace {

class SnapKVCache : public KVMethod {
 public:
  explicit SnapKVCache(SnapKVOptions options) : options_(std::move(options)) {}

  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    model_ = model;
    batch_ = batch_size;
    max_tokens_ = max_tokens;
    cache_.reset(model.shape.num_layers, max_tokens, KVSlotStore::Layout{});
    layers_.assign(static_cast<size_t>(model.shape.num_layers), Layer{});
    counters_.reset();
    last_phase_ = AttentionPhase::kPrefill;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, options_.method, ": padded batches are not supported");
    const int64_t l = call.layer;
    Layer& layer = layers_.at(static_cast<size_t>(l));
    KVBENCH_ASSERT(call.phase == AttentionPhase::kDecode || call.slot_offset == cache_.length(l), options_.method,
                   ": layer ", l, " expected slot ", cache_.length(l), ", got ", call.slot_offset);
    last_phase_ = call.phase;
    counters_.set_transient_bytes(0);
    at::Tensor out;
    if (call.phase == AttentionPhase::kPrefill) {
      cache_.append(l, {call.key, call.value});
      if (call.output_wanted)
        out = exact_attention(call.query, cache_.filled(l, kKeys), cache_.filled(l, kValues), call.slot_offset,
                              at::Tensor(), call.scale);
      // The last `window` queries seen so far (the observation window once the prompt ends).
      at::Tensor tail = layer.query_tail.defined() ? at::cat({layer.query_tail, call.query}, 2) : call.query;
      const int64_t keep = std::min(options_.window, tail.size(2));
      layer.query_tail = tail.narrow(2, tail.size(2) - keep, keep).contiguous();
      counters_.set_transient_bytes(static_cast<int64_t>(layer.query_tail.nbytes()));
      if (l == 0) counters_.set_tokens_attended(static_cast<double>(cache_.length(l)));
      if (call.last_prefill_chunk) {
        counters_.observe(cache_.bytes());  // the peak includes this layer's uncompressed prompt
        compress(l, call);
      }
    } else {
      KVBENCH_CHECK(call.key.size(2) == 1, options_.method, ": a decode step must bring one token, got ",
                    call.key.size(2));
      at::Tensor key = call.key, value = call.value;
      if (layer.repeated) {
        const int64_t group = call.query.size(1) / call.key.size(1);
        key = key.repeat_interleave(group, 1);
        value = value.repeat_interleave(group, 1);
      }
      cache_.append(l, {key, value});
      ++layer.generated;
      const int64_t n = cache_.length(l);
      out = exact_attention(call.query, cache_.filled(l, kKeys), cache_.filled(l, kValues), n - 1, at::Tensor(),
                            call.scale);
    }
    counters_.observe(cache_.bytes());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(cache_.bytes());
    if (layers_.empty() || cache_.length(0) == 0) return m;
    double attended = 0;
    for (int64_t l = 0; l < cache_.num_layers(); ++l) {
      const Layer& layer = layers_[static_cast<size_t>(l)];
      LayerBudget b;
      b.local = layer.window;
      b.selected = layer.selected;
      b.generated = layer.generated;
      m.layer_budgets.push_back(b);
      attended += static_cast<double>(cache_.length(l));
    }
    // After prefill: the prompt (exact prefill); after a decode step: the compressed cache's rows.
    if (last_phase_ == AttentionPhase::kDecode) m.tokens_attended = attended / static_cast<double>(cache_.num_layers());
    return m;
  }

  nlohmann::json stats() const override {
    nlohmann::json kept = nlohmann::json::array();
    int64_t compressed = 0;
    for (const Layer& layer : layers_) {
      kept.push_back(layer.window + layer.selected);
      compressed += layer.compressed ? 1 : 0;
    }
    return {{"max_capacity_prompt", options_.capacity.describe()},
            {"window_size", options_.window},
            {"kernel_size", options_.kernel_size},
            {"pooling", options_.pooling == SnapPooling::kAvg ? "avgpool" : "maxpool"},
            {"gqa", options_.gqa == SnapGqa::kRepeat ? "repeat" : "mean"},
            {"compressed_layers", compressed},
            {"prompt_tokens_kept_per_layer", kept}};
  }

 private:
  enum Field : size_t { kKeys, kValues };
  struct Layer {
    at::Tensor query_tail;  // [B, Hq, <= window, d] during prefill
    bool compressed = false;
    bool repeated = false;  // the cache holds Hq heads (gqa: repeat with Hq > Hkv)
    int64_t window = 0;     // prompt tokens kept as the window (the whole prompt when not compressed)
    int64_t selected = 0;   // prefix tokens kept by score
    int64_t generated = 0;  // decode tokens appended
  };

  // End of the prompt: keep the window and the top-scored prefix of layer l (per head).
  void compress(int64_t l, const AttentionCall& call) {
    Layer& layer = layers_.at(static_cast<size_t>(l));
    const int64_t s = cache_.length(l);
    const SnapLayerPlan plan = options_.schedule(l, cache_.num_layers(), s, options_.capacity.resolve(s, false));
    at::Tensor window_queries = layer.query_tail;
    layer.query_tail = at::Tensor();
    // Not compressed: the prompt fits, or no prefix is left to score (window = S). A plan keeping
    // every row still goes through the scoring and keep() (the equivalence tests exercise that path).
    if (!plan.compress || plan.window >= s) {
      layer.window = s;
      return;
    }
    at::Tensor keys = cache_.filled(l, kKeys), values = cache_.filled(l, kValues);
    const int64_t hq = call.query.size(1), hkv = keys.size(1), b = keys.size(0);
    const int64_t prefix = s - plan.window;
    at::Tensor scores;  // [B, H, prefix]
    if (plan.window > 0) {
      KVBENCH_ASSERT(window_queries.size(2) >= plan.window, options_.method, ": observation window ", plan.window,
                     " longer than the queries kept (", window_queries.size(2), ")");
      at::Tensor q = window_queries.narrow(2, window_queries.size(2) - plan.window, plan.window);
      scores = snapkv_pool(snapkv_window_scores(q, keys, call.scale), options_.kernel_size, options_.pooling);
    } else {
      // No observation window (capacity 0): nothing scores the prefix, every row ties.
      scores = at::zeros({b, hq, prefix}, keys.options().dtype(at::kFloat));
    }
    const bool repeat = options_.gqa == SnapGqa::kRepeat && hq != hkv;
    if (!repeat && hq != hkv) scores = group_mean(scores, hkv);
    const int64_t heads = scores.size(1);
    at::Tensor window = at::arange(prefix, s, keys.options().dtype(at::kLong)).expand({b, heads, plan.window});
    at::Tensor keep = at::cat({top_slots(scores, plan.selected), window}, -1);  // [B, H, kept]
    const int64_t kept = keep.size(-1);
    const int64_t still_to_come = std::max<int64_t>(max_tokens_ - s, 1);
    if (repeat) {
      const int64_t group = hq / hkv;
      at::Tensor index = keep.unsqueeze(-1).expand({b, heads, kept, keys.size(3)});
      at::Tensor k = at::gather(keys.repeat_interleave(group, 1), 2, index);
      at::Tensor v = at::gather(values.repeat_interleave(group, 1), 2, index);
      cache_.clear(l);
      cache_.set_capacity(l, kept + still_to_come, {k, v});
      cache_.append(l, {k, v});
      layer.repeated = true;
    } else {
      cache_.keep(l, keep);
      cache_.set_capacity(l, kept + still_to_come);
    }
    layer.compressed = true;
    layer.window = plan.window;
    layer.selected = kept - plan.window;
  }

  SnapKVOptions options_;
  ModelView model_;
  int64_t batch_ = 1;
  int64_t max_tokens_ = 0;
  KVSlotStore cache_;  // per layer keys, values [B, H, capacity, d]
  std::vector<Layer> layers_;
  KVCounters counters_;  // transient: the carried window queries during prefill
  AttentionPhase last_phase_ = AttentionPhase::kPrefill;
};

}  // namespace

SnapKVOptions snapkv_options(const std::string& method, const nlohmann::json& params) {
  SnapKVOptions o;
  o.method = method;
  o.capacity = TokenBudget::parse(params["max_capacity_prompt"], "method.params.max_capacity_prompt");
  o.window = params["window_size"].get<int64_t>();
  o.kernel_size = params["kernel_size"].get<int64_t>();
  KVBENCH_CHECK_CONFIG(o.kernel_size % 2 == 1, "method.params.kernel_size: ", o.kernel_size,
                       " must be odd (pooling keeps one score per token with kernel_size // 2 padding)");
  o.pooling = parse_snap_pooling(params["pooling"].get<std::string>());
  o.gqa = params["gqa"].get<std::string>() == "mean" ? SnapGqa::kMean : SnapGqa::kRepeat;
  KVBENCH_CHECK_CONFIG(o.capacity.is_fraction || o.capacity.tokens == 0 || o.capacity.tokens > o.window,
                       "method.params.max_capacity_prompt: ", o.capacity.tokens, " tokens must exceed window_size ",
                       o.window, " (the reference asserts max_capacity_prompt - window_size > 0)");
  return o;
}

SnapLayerPlan snapkv_plan(int64_t window, int64_t prompt_tokens, int64_t capacity_tokens) {
  SnapLayerPlan plan;
  if (prompt_tokens < capacity_tokens) return plan;
  plan.compress = true;
  plan.window = std::min(window, capacity_tokens);
  plan.selected = capacity_tokens - plan.window;
  return plan;
}

std::unique_ptr<KVMethod> make_snapkv_cache(SnapKVOptions options) {
  return std::unique_ptr<KVMethod>(new SnapKVCache(std::move(options)));
}

}  // namespace kvbench
