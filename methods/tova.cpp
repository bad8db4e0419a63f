// SPDX-License-Identifier: Apache-2.0
// "tova" (Oren et al., 2024, "Transformers are Multi-State RNNs"; reference: schwartz-lab-NLP/TOVA
// src/tova_cache.py TOVACache.reduce): a fixed-size cache ranked by the current query only.
// Prefill is exact (every chunk attends all earlier prompt tokens). At the end of the prompt, and
// after every decode step's attention, when the layer holds more than cache_size rows it keeps the
// cache_size rows to which the current (last) query gives the most attention, the softmax
// probabilities (fp32) averaged over all query heads; one index set per layer and sequence, shared
// by all KV heads; the rest is evicted for good. A decode step thus attends cache_size + 1 rows (the
// cache and itself), as the reference reduces after attending.
// cache_size is a budget: tokens, or a fraction of the prompt (resolved once at the end of the prompt).
// Differences from the reference: ties go to the lower slot (torch.topk leaves them unspecified);
// kept rows stay in slot order (the reference reorders them by score, which attention ignores);
// keys keep their original RoPE positions (kvpress TOVAPress); with chunked prefill the cache is
// reduced once, at the end of the prompt.
// Storage per layer (KVSlotStore): keys (post-RoPE), values [B, Hkv, capacity, d]; after the
// prompt the capacity is cache_size + 1. Batches must not be padded.
// Layer budgets (mean over sequences, rounded): selected = prompt rows kept, generated = generated
// tokens still cached.
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

class Tova : public KVMethod {
 public:
  explicit Tova(const nlohmann::json& params)
      : budget_(TokenBudget::parse(params["cache_size"], "method.params.cache_size")) {}

  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    model_ = model;
    batch_ = batch_size;
    cache_.reset(model.shape.num_layers, max_tokens, KVSlotStore::Layout{});
    generated_.assign(static_cast<size_t>(model.shape.num_layers), at::Tensor());
    counters_.reset();
    cache_size_ = 0;
    evicted_ = 0;
    last_phase_ = AttentionPhase::kPrefill;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "tova: padded batches are not supported");
    const int64_t l = call.layer;
    const int64_t t = call.key.size(2);
    last_phase_ = call.phase;
    KVBENCH_CHECK(call.phase == AttentionPhase::kPrefill || t == 1, "tova: a decode step must bring one token, got ",
                  t);
    KVBENCH_ASSERT(call.phase == AttentionPhase::kDecode || call.slot_offset == cache_.length(l), "tova: layer ", l,
                   " expected slot ", cache_.length(l), ", got ", call.slot_offset);
    cache_.append(l, {call.key, call.value});
    const int64_t n = cache_.length(l);
    at::Tensor keys = cache_.filled(l, kKeys);
    at::Tensor out = call.output_wanted
                         ? exact_attention(call.query, keys, cache_.filled(l, kValues), n - t, at::Tensor(), call.scale)
                         : at::Tensor();
    counters_.set_transient_bytes(0);
    at::Tensor& generated = generated_.at(static_cast<size_t>(l));
    if (call.phase == AttentionPhase::kPrefill) {
      if (l == 0) counters_.set_tokens_attended(static_cast<double>(n));
      if (call.last_prefill_chunk) {
        if (l == 0) cache_size_ = budget_.resolve(n, /*clamp_to_prompt=*/false);
        generated = at::zeros({call.key.size(0)}, call.key.options().dtype(at::kLong));
        counters_.observe(cache_.bytes());  // the peak includes this layer's whole prompt
        reduce(l, call);
        cache_.set_capacity(l, std::max(cache_.length(l), cache_size_ + 1));
      }
    } else {
      generated.add_(1);
      reduce(l, call);
    }
    counters_.observe(cache_.bytes());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(cache_.bytes());
    if (generated_.empty() || !generated_[0].defined()) return m;
    double attended = 0;
    for (int64_t l = 0; l < cache_.num_layers(); ++l) {
      const int64_t n = cache_.length(l);
      LayerBudget budget;
      budget.generated = std::llround(generated_[static_cast<size_t>(l)].to(at::kDouble).mean().item<double>());
      budget.selected = n - budget.generated;
      m.layer_budgets.push_back(budget);
      attended += static_cast<double>(n);
    }
    if (last_phase_ == AttentionPhase::kDecode) m.tokens_attended = attended / static_cast<double>(cache_.num_layers());
    return m;
  }

  nlohmann::json stats() const override {
    return {{"cache_size", budget_.describe()}, {"cache_tokens", cache_size_}, {"evicted_rows", evicted_}};
  }

 private:
  enum Field : size_t { kKeys, kValues };

  // Keeps the cache_size_ rows the call's last query attends most (mean over query heads).
  void reduce(int64_t l, const AttentionCall& call) {
    const int64_t n = cache_.length(l);
    if (n <= cache_size_) return;
    at::Tensor keys = cache_.filled(l, kKeys);
    const int64_t b = keys.size(0), hkv = keys.size(1), t = call.query.size(2);
    at::Tensor attention = attention_column_sums(call.query.narrow(2, t - 1, 1), keys, n - 1, call.scale);
    counters_.set_transient_bytes(static_cast<int64_t>(attention.nbytes()));
    at::Tensor keep = top_slots(attention.mean(1), cache_size_);  // [B, cache_size]
    at::Tensor& generated = generated_.at(static_cast<size_t>(l));
    generated = (keep >= (n - generated).unsqueeze(-1)).sum(-1);
    cache_.keep(l, keep.unsqueeze(1).expand({b, hkv, keep.size(-1)}));
    evicted_ += (n - keep.size(-1)) * b;
  }

  TokenBudget budget_;
  ModelView model_;
  int64_t batch_ = 1;
  KVSlotStore cache_;  // per layer keys, values [B, Hkv, capacity, d]
  std::vector<at::Tensor> generated_;  // per layer [B] int64: generated tokens among the cached rows (the last ones)
  KVCounters counters_;  // transient: the last query's attention probabilities
  int64_t cache_size_ = 0;  // resolved at the end of the prompt
  int64_t evicted_ = 0;     // rows evicted per KV head, summed over layers and sequences
  AttentionPhase last_phase_ = AttentionPhase::kPrefill;
};

ParamSpecs tova_params() {
  return {budget_param("cache_size", 512,
                       "rows kept per layer (all KV heads share them): tokens, a fraction of the prompt (< 1) or "
                       "\"P%\"",
                       "selected")};
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "tova",
    "TOVA: fixed-size cache; each step keeps the rows the current query attends most (mean over heads)",
    tova_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new Tova(p)); },
    {{"budget_params", {"cache_size"}}, {"shared_prefill", {{"uses", {"query"}}}}}});

}  // namespace kvbench
