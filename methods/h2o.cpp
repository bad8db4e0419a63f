// SPDX-License-Identifier: Apache-2.0
// "h2o" (Zhang et al., NeurIPS 2023; reference: FMInference/H2O h2o_hf/utils_real_drop/
// modify_llama.py H2OKVCache_LayerWise, budgets from h2o_hf/scripts/generation/llama_h2o.sh):
// heavy hitters + a recent window, evicted greedily.
// - Every key carries its accumulated attention: the sum, over every query that has attended it
//   (prompt queries included), of that query's softmax probability on it (fp32).
// - Prefill is exact (every chunk attends all earlier prompt tokens) and accumulates the prompt
//   queries' attention. At the end of the prompt (S tokens) the budgets are resolved (heavy_budget,
//   recent_budget: tokens or fractions of S, floor as the reference's int(ratio * len)) and each
//   head keeps its last `recent` tokens plus the `heavy` tokens of highest accumulated attention
//   among the others.
// - Decode: the new token is appended (score 0) and attends exactly over the cache (heavy + recent +
//   1 rows); its attention is added to the scores; then, the cache being over heavy + recent, the
//   heavy hitters are re-chosen among all but the last `recent` rows: one row leaves per step.
// GQA: the reference assumes one KV head per query head. Here each KV head keeps one index set,
// ranked by the attention its rows received summed over the query heads of its group (the
// accumulated attention of the shared rows). With Hq = Hkv this is the reference's per-head rule.
// Other differences: the reference sums scores over the batch (one set per head for all
// sequences); here each sequence has its own; ties go to the lower slot; keys keep their original
// RoPE positions (the reference's non-streaming H2OLlamaAttention).
// Storage per layer (KVSlotStore): keys (post-RoPE), values [B, Hkv, capacity, d] and the scores
// [B, Hkv, capacity] fp32 (metadata) in lockstep; after the prompt the capacity is heavy + recent + 1.
// Batches must not be padded.
// Layer budgets (mean over heads and sequences, rounded): generated = generated tokens still
// cached, local = prompt tokens inside the recent window, selected = the other prompt rows (heavy
// hitters).
#include "harness/error.h"
#include "harness/kv/attention.h"
#include "harness/kv/budget.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/method.h"
#include "harness/kv/slot_store.h"
#include "methods/eviction_scoring.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kvbench {
namespace {

class H2O : public KVMethod {
 public:
  explicit H2O(const nlohmann::json& params)
      : heavy_budget_(TokenBudget::parse(params["heavy_budget"], "method.params.heavy_budget")),
        recent_budget_(TokenBudget::parse(params["recent_budget"], "method.params.recent_budget")) {}

  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    model_ = model;
    batch_ = batch_size;
    KVSlotStore::Layout layout;
    layout.fields = {{"keys"}, {"values"}, {"scores", 2, KVByteRole::kMetadata}};
    cache_.reset(model.shape.num_layers, max_tokens, layout);
    layers_.assign(static_cast<size_t>(model.shape.num_layers), Layer{});
    counters_.reset();
    heavy_ = recent_ = prompt_tokens_ = 0;
    evicted_ = 0;
    last_phase_ = AttentionPhase::kPrefill;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "h2o: padded batches are not supported");
    const int64_t l = call.layer;
    Layer& layer = layers_.at(static_cast<size_t>(l));
    const int64_t b = call.key.size(0), hkv = call.key.size(1), t = call.key.size(2);
    last_phase_ = call.phase;
    KVBENCH_CHECK(call.phase == AttentionPhase::kPrefill || t == 1, "h2o: a decode step must bring one token, got ",
                  t);
    KVBENCH_ASSERT(call.phase == AttentionPhase::kDecode || call.slot_offset == cache_.length(l), "h2o: layer ", l,
                   " expected slot ", cache_.length(l), ", got ", call.slot_offset);
    cache_.append(l, {call.key, call.value, at::zeros({b, hkv, t}, call.key.options().dtype(at::kFloat))});
    const int64_t n = cache_.length(l);
    const int64_t q_offset = n - t;
    at::Tensor keys = cache_.filled(l, kKeys);
    at::Tensor out = call.output_wanted
                         ? exact_attention(call.query, keys, cache_.filled(l, kValues), q_offset, at::Tensor(), call.scale)
                         : at::Tensor();
    // Accumulated attention: the new queries' probabilities, summed over each KV head's query heads.
    at::Tensor received = attention_column_sums(call.query, keys, q_offset, call.scale);  // [B, Hq, n]
    const int64_t group = received.size(1) / hkv;
    cache_.filled(l, kScores).add_(received.view({b, hkv, group, n}).sum(2));
    counters_.set_transient_bytes(static_cast<int64_t>(received.nbytes()));
    if (call.phase == AttentionPhase::kPrefill) {
      if (l == 0) counters_.set_tokens_attended(static_cast<double>(n));
      if (call.last_prefill_chunk) {
        if (l == 0) {
          prompt_tokens_ = n;
          heavy_ = heavy_budget_.resolve(n, /*clamp_to_prompt=*/false);
          recent_ = recent_budget_.resolve(n, /*clamp_to_prompt=*/false);
        }
        layer.generated = at::zeros({b, hkv}, call.key.options().dtype(at::kLong));
        counters_.observe(cache_.bytes());  // the peak includes this layer's whole prompt
        evict(l);
        cache_.set_capacity(l, std::max(cache_.length(l), heavy_ + recent_ + 1));
      }
    } else {
      layer.generated.add_(1);
      evict(l);
    }
    counters_.observe(cache_.bytes());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(cache_.bytes());
    if (layers_.empty() || !layers_[0].generated.defined()) return m;
    double attended = 0;
    for (int64_t l = 0; l < cache_.num_layers(); ++l) {
      const Layer& layer = layers_[static_cast<size_t>(l)];
      const int64_t n = cache_.length(l);
      at::Tensor generated = layer.generated.to(at::kDouble);
      // The recent window is the last `recent` rows (kept rows stay in slot order), generated ones last.
      at::Tensor prompt_in_window = (recent_ - generated).clamp(0, static_cast<double>(n)).minimum(n - generated);
      LayerBudget budget;
      budget.generated = std::llround(generated.mean().item<double>());
      budget.local = std::llround(prompt_in_window.mean().item<double>());
      budget.selected = n - budget.generated - budget.local;
      m.layer_budgets.push_back(budget);
      attended += static_cast<double>(n);
    }
    if (last_phase_ == AttentionPhase::kDecode) m.tokens_attended = attended / static_cast<double>(cache_.num_layers());
    return m;
  }

  nlohmann::json stats() const override {
    return {{"heavy_budget", heavy_budget_.describe()},
            {"recent_budget", recent_budget_.describe()},
            {"heavy_tokens", heavy_},
            {"recent_tokens", recent_},
            {"evicted_rows", evicted_}};
  }

 private:
  enum Field : size_t { kKeys, kValues, kScores };
  struct Layer {
    at::Tensor generated;  // [B, Hkv] int64: generated tokens among the cached rows (they are the last ones)
  };

  // Keeps, per head, the last recent_ rows and the heavy_ top-scored rows before them.
  void evict(int64_t l) {
    Layer& layer = layers_.at(static_cast<size_t>(l));
    const int64_t n = cache_.length(l);
    if (n <= heavy_ + recent_) return;
    at::Tensor scores = cache_.filled(l, kScores);  // [B, Hkv, n]
    const int64_t b = scores.size(0), hkv = scores.size(1);
    at::Tensor heavy = top_slots(scores.narrow(-1, 0, n - recent_), heavy_);
    at::Tensor recent = at::arange(n - recent_, n, heavy.options()).expand({b, hkv, recent_});
    at::Tensor keep = at::cat({heavy, recent}, -1);
    // Generated rows are the last `generated` slots before the keep; count those kept.
    layer.generated = (keep >= (n - layer.generated).unsqueeze(-1)).sum(-1);
    cache_.keep(l, keep);
    evicted_ += (n - keep.size(-1)) * b * hkv;
  }

  TokenBudget heavy_budget_;
  TokenBudget recent_budget_;
  ModelView model_;
  int64_t batch_ = 1;
  KVSlotStore cache_;  // per layer keys, values [B, Hkv, capacity, d], scores [B, Hkv, capacity] fp32
  std::vector<Layer> layers_;
  KVCounters counters_;  // transient: the new queries' attention probabilities of the last call
  int64_t heavy_ = 0, recent_ = 0, prompt_tokens_ = 0;  // resolved at the end of the prompt
  int64_t evicted_ = 0;  // rows evicted, summed over layers, heads and sequences
  AttentionPhase last_phase_ = AttentionPhase::kPrefill;
};

ParamSpecs h2o_params() {
  return {budget_param("heavy_budget", 0.1,
                       "heavy hitters kept per head: a fraction of the prompt (< 1), \"P%\" or tokens", "selected"),
          budget_param("recent_budget", 0.1,
                       "most recent tokens kept per head: a fraction of the prompt (< 1), \"P%\" or tokens",
                       "local")};
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "h2o",
    "H2O: heavy hitters by accumulated attention + a recent window, one row evicted per decode step",
    h2o_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new H2O(p)); },
    {{"budget_params", {"heavy_budget", "recent_budget"}}, {"shared_prefill", {{"uses", {"query"}}}}}});

}  // namespace kvbench
