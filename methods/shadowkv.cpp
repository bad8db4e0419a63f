// SPDX-License-Identifier: Apache-2.0
// "shadowkv" (Sun et al., ICML 2025; reference ByteDance-Seed/ShadowKV models/kv_cache.py
// ShadowKVCache + ShadowKVCache_CPU, models/base.py layer_compute; ../shared/docs/methods.md section 2).
// Prefill is exact causal attention over the whole prompt. On the last prompt chunk each layer keeps
// (building blocks in methods/shadowkv_ops.h):
//   device metadata: U [B,S,r] and SV [B,Hkv,r,d] of the pre-RoPE keys (SVD over all KV heads
//     concatenated), landmarks [B,Hkv,C',d] = chunk means of post-RoPE keys with their chunk ids,
//     and the chunk ids resident in the sparse buffer [B*Hkv, k];
//   device KV buffer per layer [B, Hkv, prefill_local + 8*outliers + 8*k + generated, d]:
//     [exact tail | exact outlier chunks | sparse slots (reconstructed keys, fetched values) | generated];
//   host: the context chunks' values chunk-major [B, Hkv, C, 8*d] in pinned memory.
// As in the CPU class, the sparse slots are pre-filled at prefill with the chunks the last prompt
// query selects (values from the prefill tensors, no host copy). Unlike it, those keys are the
// low-rank reconstructions (the CPU class copies the exact keys there, so its decode depends on the
// hit pattern; S issue #13), so every decode step equals the accuracy class's recomputation.
// Decode step: append the token to the generated region; select k chunks per KV head (GQA softmax,
// max over the group, top-k); chunks already resident keep their slot (cache hits, counted); the
// misses' values are copied from host through HostToDevice and their keys rebuilt from U, SV with
// RoPE at their original positions; exact attention over the whole buffer.
// Short prompts: the reference asserts sparse_budget < S. kvbench clamps instead (ChunkLayout):
// chunks = max(S/8 - local, 0), outliers = min(48, chunks), selected = min(budget/8, chunks -
// outliers). A prompt whose landmark chunks all fit the budget attends every prompt token (selected
// keys reconstructed at rank r); a prompt shorter than the local window is kept exactly. The
// resolved counts are reported per layer (KVMemory::layer_budgets) and in stats().
// Batches must not be padded (kvbench runs one sequence per sample; positions = prompt slots).
#include "harness/kv/budget.h"
#include "harness/kv/ops.h"
#include "harness/kv/placement.h"
#include "harness/kv/transfer.h"
#include "harness/kv/attention.h"
#include "harness/kv/method.h"
#include "methods/shadowkv_ops.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace kvbench {
namespace {

using shadowkv::ChunkLayout;

// View of `slots` chunk slots starting at token `start` of a [B, Hkv, N, d] buffer as
// [B, Hkv, slots, chunk*d] (one row per chunk).
at::Tensor chunk_rows(const at::Tensor& buffer, int64_t start, int64_t slots, int64_t chunk) {
  return buffer.narrow(2, start, slots * chunk).view({buffer.size(0), buffer.size(1), slots, chunk * buffer.size(3)});
}

// target[b[i], h[i], slot[i]] = rows[i] for a [B, Hkv, slots, row] view.
void put_rows(const at::Tensor& target, const at::Tensor& b, const at::Tensor& h, const at::Tensor& slot,
              const at::Tensor& rows) {
  c10::List<std::optional<at::Tensor>> index;
  index.push_back(b);
  index.push_back(h);
  index.push_back(slot);
  at::Tensor view = target;
  view.index_put_(index, rows);
}

class ShadowKV : public KVMethod {
 public:
  explicit ShadowKV(const nlohmann::json& p)
      : budget_(TokenBudget::parse(p["sparse_budget"], "method.params.sparse_budget")),
        rank_(p["rank"].get<int64_t>()),
        chunk_(p["chunk_size"].get<int64_t>()),
        local_chunks_(p["local_chunks"].get<int64_t>()),
        outlier_chunks_(p["outlier_chunks"].get<int64_t>()),
        reuse_hits_(p["reuse_hits"].get<bool>()),
        svd_(p["svd"].get<std::string>() == "gram" ? shadowkv::SvdRoute::kGram : shadowkv::SvdRoute::kExact) {}

  void reset(const ModelView& model, int64_t, int64_t max_tokens) override {
    model_ = model;
    hint_ = std::max<int64_t>(max_tokens, 1);
    layers_.assign(static_cast<size_t>(model.shape.num_layers), Layer{});
    transfer_.reset();
    peak_device_bytes_ = 0;
    transient_bytes_ = 0;
    tokens_attended_ = 0;
    hits_ = 0;
    lookups_ = 0;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "shadowkv: padded batches are not supported");
    if (!transfer_) transfer_ = std::make_unique<HostToDevice>(call.query.device());
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    at::Tensor out = call.phase == AttentionPhase::kPrefill ? prefill(layer, call) : decode(layer, call);
    auto [kv, metadata] = device_bytes();
    peak_device_bytes_ = std::max(peak_device_bytes_, kv + metadata + transient_bytes_);
    return out;
  }

  KVMemory memory() const override {
    KVMemory m;
    auto [kv, metadata] = device_bytes();
    m.kv_device_bytes = kv;
    m.metadata_device_bytes = metadata;
    m.device_bytes = kv + metadata;
    m.transient_device_bytes = transient_bytes_;
    for (const Layer& l : layers_) m.host_bytes += l.host_values.host_or_device.defined() ? l.host_values.bytes() : 0;
    m.peak_device_bytes = peak_device_bytes_;
    m.tokens_attended = tokens_attended_;
    m.host_to_device_bytes = transfer_ ? transfer_->bytes_copied() : 0;
    m.cache_hits = hits_;
    m.cache_lookups = lookups_;
    for (const Layer& l : layers_)
      if (l.built) m.layer_budgets.push_back(l.budget);
    return m;
  }

  nlohmann::json stats() const override {
    nlohmann::json s = {{"sparse_budget", budget_.describe()}, {"svd", svd_ == shadowkv::SvdRoute::kGram ? "gram" : "exact"},
                        {"reuse_hits", reuse_hits_}, {"cache_hits", hits_}, {"cache_lookups", lookups_}};
    if (!layers_.empty() && layers_[0].built) {
      const Layer& l = layers_[0];
      s["rank"] = l.factors.u.defined() ? l.factors.rank() : 0;
      s["chunks"] = l.layout.chunks;
      s["prefill_local"] = l.layout.prefill_local;
      s["outlier_chunks"] = l.layout.outliers;
      s["landmark_chunks"] = l.layout.landmarks;
      s["selected_chunks"] = l.layout.selected;
      s["attends_whole_prompt"] = l.layout.selected == l.layout.landmarks;
    }
    if (lookups_ > 0) s["hit_rate"] = static_cast<double>(hits_) / static_cast<double>(lookups_);
    return s;
  }

 private:
  struct Layer {
    // During prefill (until the last prompt chunk): the prompt so far in slots 0..prompt_len-1 of
    // [B, Hkv, capacity, d] buffers (capacity from the reset() hint, doubled when exceeded).
    at::Tensor prompt_key_pre, prompt_key, prompt_value;
    int64_t prompt_len = 0;
    bool built = false;
    ChunkLayout layout;
    shadowkv::LowRankKeys factors;  // u [B,S,r], sv [B,Hkv,r,d] (undefined when nothing is selectable)
    at::Tensor landmarks;           // [B, Hkv, C', d]
    at::Tensor landmark_ids;        // [B, Hkv, C'] int64
    at::Tensor resident;            // [B*Hkv, k] chunk id held by each sparse slot
    KVBuffer host_values;           // [B, Hkv, C, chunk*d] pinned host
    at::Tensor keys, values;        // [B, Hkv, capacity, d]: local | outliers | sparse | generated
    int64_t sparse_start = 0;
    int64_t filled = 0;
    LayerBudget budget;
  };

  // Appends `added` [B, Hkv, T, d] at slot `length` of `cache`, growing it; returns the filled view.
  at::Tensor append(at::Tensor& cache, int64_t length, const at::Tensor& added) const {
    const int64_t needed = length + added.size(2);
    if (!cache.defined() || cache.size(2) < needed) {
      auto sizes = added.sizes().vec();
      sizes[2] = cache.defined() ? std::max(needed, 2 * cache.size(2)) : std::max(needed, hint_);
      at::Tensor bigger = at::empty(sizes, added.options());
      if (length > 0) bigger.narrow(2, 0, length).copy_(cache.narrow(2, 0, length));
      cache = bigger;
    }
    cache.narrow(2, length, added.size(2)).copy_(added);
    return cache.narrow(2, 0, needed);
  }

  at::Tensor prefill(Layer& layer, const AttentionCall& call) {
    KVBENCH_CHECK(!layer.built, "shadowkv: layer ", call.layer, " got a prefill chunk after its prompt ended");
    KVBENCH_CHECK(call.slot_offset == layer.prompt_len, "shadowkv: layer ", call.layer, " expected slot ",
                  layer.prompt_len, ", got ", call.slot_offset);
    append(layer.prompt_key_pre, layer.prompt_len, call.key_pre_rope);
    at::Tensor keys = append(layer.prompt_key, layer.prompt_len, call.key);
    at::Tensor values = append(layer.prompt_value, layer.prompt_len, call.value);
    layer.prompt_len += call.key.size(2);
    at::Tensor out = exact_attention(call.query, keys, values, call.slot_offset, at::Tensor(), call.scale);
    if (call.layer == 0) tokens_attended_ = static_cast<double>(layer.prompt_len);
    if (call.last_prefill_chunk) build(layer, call);
    return out;
  }

  // End of the prompt: factors, landmarks, outliers, offloaded values, and the attention buffer.
  void build(Layer& layer, const AttentionCall& call) {
    const at::Tensor key = layer.prompt_key.narrow(2, 0, layer.prompt_len);
    const at::Tensor value = layer.prompt_value.narrow(2, 0, layer.prompt_len);
    const int64_t b = key.size(0), hkv = key.size(1), s = key.size(2), d = key.size(3);
    // Positions must be the prompt slots (the reconstruction rotates chunk c at 8c..8c+7).
    KVBENCH_CHECK(call.positions.select(1, call.positions.size(1) - 1).eq(s - 1).all().item<bool>(),
                  "shadowkv: prompt positions must be 0..S-1 (layer ", call.layer, ")");
    const ChunkLayout l = shadowkv::chunk_layout(s, chunk_, local_chunks_, outlier_chunks_,
                                                 budget_.resolve(s, /*clamp_to_prompt=*/false));
    layer.layout = l;
    shadowkv::ChunkSummary summary = shadowkv::summarize_chunks(key, l);
    const int64_t gen_capacity = std::max<int64_t>(hint_ - s, 1);
    const int64_t capacity = l.prefill_local + (l.outliers + l.selected) * chunk_ + gen_capacity;
    layer.keys = at::empty({b, hkv, capacity, d}, key.options());
    layer.values = at::empty({b, hkv, capacity, d}, value.options());
    layer.keys.narrow(2, 0, l.prefill_local).copy_(key.narrow(2, s - l.prefill_local, l.prefill_local));
    layer.values.narrow(2, 0, l.prefill_local).copy_(value.narrow(2, s - l.prefill_local, l.prefill_local));
    if (l.outliers > 0) {
      gather_rows(chunk_rows(key, 0, l.chunks, chunk_), summary.outlier_ids,
                  chunk_rows(layer.keys, l.prefill_local, l.outliers, chunk_), /*check_indices=*/false);
      gather_rows(chunk_rows(value, 0, l.chunks, chunk_), summary.outlier_ids,
                  chunk_rows(layer.values, l.prefill_local, l.outliers, chunk_), /*check_indices=*/false);
    }
    layer.sparse_start = l.prefill_local + l.outliers * chunk_;
    if (l.selected > 0) {
      layer.factors = shadowkv::low_rank_keys(layer.prompt_key_pre.narrow(2, 0, layer.prompt_len), rank_, key.scalar_type(), svd_);
      layer.landmarks = summary.landmarks;
      layer.landmark_ids = summary.landmark_ids;
      layer.host_values = allocate_kv_buffer({b, hkv, l.chunks, chunk_ * d}, value.scalar_type(),
                                             KVPlacement::kPinnedHost, value.device());
      layer.host_values.host_or_device.copy_(value.narrow(2, 0, l.chunks * chunk_).reshape({b, hkv, l.chunks, chunk_ * d}));
      // Pre-fill the sparse slots with the last prompt query's selection (values from the prompt).
      at::Tensor q = call.query.narrow(2, call.query.size(2) - 1, 1);
      at::Tensor ids = shadowkv::select_chunks(q, layer.landmarks, layer.landmark_ids, l.selected);
      gather_rows(chunk_rows(value, 0, l.chunks, chunk_), ids,
                  chunk_rows(layer.values, layer.sparse_start, l.selected, chunk_), /*check_indices=*/false);
      layer.keys.narrow(2, layer.sparse_start, l.selected * chunk_)
          .copy_(shadowkv::reconstruct_keys(layer.factors, ids, chunk_, *model_.rope));
      layer.resident = ids.reshape({b * hkv, l.selected}).contiguous();
    }
    layer.filled = layer.sparse_start + l.selected * chunk_;
    layer.budget = LayerBudget{0, l.prefill_local, l.outliers * chunk_, l.selected * chunk_, 0};
    layer.prompt_key_pre = layer.prompt_key = layer.prompt_value = at::Tensor();
    layer.built = true;
  }

  at::Tensor decode(Layer& layer, const AttentionCall& call) {
    KVBENCH_CHECK(layer.built, "shadowkv: decode before the prompt of layer ", call.layer, " ended");
    KVBENCH_CHECK(call.key.size(2) == 1, "shadowkv: decode takes one token per step, got ", call.key.size(2));
    if (layer.filled == layer.keys.size(2)) grow(layer);
    layer.keys.narrow(2, layer.filled, 1).copy_(call.key);
    layer.values.narrow(2, layer.filled, 1).copy_(call.value);
    ++layer.filled;
    ++layer.budget.generated;
    transient_bytes_ = 0;
    if (layer.layout.selected > 0) refresh_sparse(layer, call);
    if (call.layer == 0) tokens_attended_ = static_cast<double>(layer.filled);
    return exact_attention(call.query, layer.keys.narrow(2, 0, layer.filled), layer.values.narrow(2, 0, layer.filled),
                           layer.filled - 1, at::Tensor(), call.scale);
  }

  // Selects this step's chunks and brings the missing ones into the sparse slots.
  void refresh_sparse(Layer& layer, const AttentionCall& call) {
    const ChunkLayout& l = layer.layout;
    const int64_t b = layer.keys.size(0), hkv = layer.keys.size(1), d = layer.keys.size(3), k = l.selected;
    const int64_t rows = b * hkv, row_elems = chunk_ * d, elem = layer.keys.element_size();
    at::Tensor wanted = shadowkv::select_chunks(call.query, layer.landmarks, layer.landmark_ids, k).reshape({rows, k});
    at::Tensor resident = reuse_hits_ ? layer.resident : at::full_like(layer.resident, -1);
    shadowkv::SlotUpdate update = shadowkv::update_slots(resident, wanted, l.chunks);
    hits_ += update.hits;
    lookups_ += rows * k;
    layer.resident = update.resident;
    const int64_t m = update.miss_ids.size(1);
    // Working set: fp32 scores and probabilities, then the misses' U rows, keys and value staging.
    transient_bytes_ = 2 * 4 * call.query.size(0) * call.query.size(1) * l.landmarks +
                       rows * m * chunk_ * (layer.factors.rank() + d) * elem + update.misses * row_elems * elem;
    if (update.misses == 0) return;
    at::Tensor row_of = at::arange(rows, wanted.options()).unsqueeze(1).expand({rows, m});
    at::Tensor miss_row = row_of.masked_select(update.miss_valid);
    at::Tensor miss_slot = update.miss_slots.masked_select(update.miss_valid);
    at::Tensor miss_chunk = update.miss_ids.masked_select(update.miss_valid);
    at::Tensor miss_b = miss_row.div(hkv, "floor"), miss_h = miss_row.remainder(hkv);
    // Values: host rows (row * C + chunk) of the chunk-major store -> staging -> their slots.
    at::Tensor staging = at::empty({update.misses, row_elems}, layer.values.options());
    transfer_->gather(layer.host_values.host_or_device.view({rows * l.chunks, row_elems}), 0,
                      miss_row * l.chunks + miss_chunk, staging);
    transfer_->wait();
    put_rows(chunk_rows(layer.values, layer.sparse_start, k, chunk_), miss_b, miss_h, miss_slot, staging);
    // Keys: rebuilt for every row's (padded) miss list, valid ones written to their slots.
    at::Tensor rebuilt = shadowkv::reconstruct_keys(layer.factors, update.miss_ids.view({b, hkv, m}), chunk_, *model_.rope);
    at::Tensor valid_keys =
        rebuilt.reshape({rows, m, row_elems}).masked_select(update.miss_valid.unsqueeze(-1)).view({update.misses, row_elems});
    put_rows(chunk_rows(layer.keys, layer.sparse_start, k, chunk_), miss_b, miss_h, miss_slot, valid_keys);
  }

  // Doubles the generated region when the reset() hint is exceeded.
  void grow(Layer& layer) {
    const int64_t capacity = layer.keys.size(2);
    const int64_t grown = capacity + std::max<int64_t>(capacity - layer.sparse_start - layer.layout.selected * chunk_, 1);
    for (at::Tensor* t : {&layer.keys, &layer.values}) {
      auto sizes = t->sizes().vec();
      sizes[2] = grown;
      at::Tensor bigger = at::empty(sizes, t->options());
      bigger.narrow(2, 0, layer.filled).copy_(t->narrow(2, 0, layer.filled));
      *t = bigger;
    }
  }

  // {kv rows, selection metadata} bytes on the compute device.
  std::pair<int64_t, int64_t> device_bytes() const {
    int64_t kv = 0, metadata = 0;
    auto add = [](int64_t& total, const at::Tensor& t) {
      if (t.defined()) total += static_cast<int64_t>(t.nbytes());
    };
    for (const Layer& l : layers_) {
      for (const at::Tensor* t : {&l.prompt_key_pre, &l.prompt_key, &l.prompt_value, &l.keys, &l.values}) add(kv, *t);
      for (const at::Tensor* t : {&l.factors.u, &l.factors.sv, &l.landmarks, &l.landmark_ids, &l.resident})
        add(metadata, *t);
    }
    return {kv, metadata};
  }

  TokenBudget budget_;
  int64_t rank_, chunk_, local_chunks_, outlier_chunks_;
  bool reuse_hits_;
  shadowkv::SvdRoute svd_;
  ModelView model_;
  int64_t hint_ = 1;
  std::vector<Layer> layers_;
  std::unique_ptr<HostToDevice> transfer_;
  int64_t peak_device_bytes_ = 0;
  int64_t transient_bytes_ = 0;
  double tokens_attended_ = 0;
  int64_t hits_ = 0;
  int64_t lookups_ = 0;
};

ParamSpecs shadowkv_params() {
  return {
      budget_param("sparse_budget", 2048,
                   "tokens selected per KV head per step: a token count, a fraction of the prompt (< 1) or "
                   "\"P%\"; rounded down to whole chunks",
                   "selected"),
      {"rank", ParamType::kInt, 160, "rank of the pre-RoPE key SVD (clamped to min(S, Hkv*d))", 1.0},
      {"chunk_size", ParamType::kInt, 8, "tokens per chunk (one landmark each)", 1.0},
      with_budget_role({"local_chunks", ParamType::kInt, 4,
                        "chunks of the prompt tail kept exactly (plus the alignment remainder)", 0.0},
                       "local"),
      with_budget_role({"outlier_chunks", ParamType::kInt, 48,
                        "chunks per KV head with the lowest min cosine kept exactly", 0.0},
                       "outliers"),
      {"reuse_hits", ParamType::kBool, true,
       "keep chunks resident from the previous step (CPU class); false re-fetches every selected chunk"},
      {"svd", ParamType::kString, "exact",
       "exact: at::linalg_svd of the [S, Hkv*d] keys (fp32, as the reference); gram: eigendecomposition of "
       "the [Hkv*d]^2 Gram matrix (cheaper for long prompts)",
       std::nullopt, std::nullopt, {"exact", "gram"}},
  };
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "shadowkv",
    "ShadowKV: low-rank pre-RoPE keys + chunk landmarks on GPU, values offloaded to pinned host memory",
    shadowkv_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new ShadowKV(p)); },
    {{"budget_params", {"sparse_budget"}}}});

}  // namespace kvbench
