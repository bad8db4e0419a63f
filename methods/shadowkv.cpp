// SPDX-License-Identifier: Apache-2.0
// "shadowkv" (Sun et al., ICML 2025; reference ByteDance-Seed/ShadowKV models/kv_cache.py
// ShadowKVCache + ShadowKVCache_CPU, models/base.py layer_compute; ../shared/docs/methods.md section 2).
// Prefill is exact causal attention over the whole prompt. On the last prompt chunk each layer keeps
// (building blocks in methods/shadowkv_ops.h):
//   device metadata: U [B,S,r] and SV [B,Hkv,r,d] of the pre-RoPE keys (SVD over all KV heads
//     concatenated), landmarks [B,Hkv,C',d] = chunk means of post-RoPE keys with their chunk ids,
//     and the chunk ids resident in the sparse buffer [B*Hkv, k];
//   device KV buffer per layer [B, Hkv, prefill_local + 8*outliers + 8*k + generated, d] (a
//     KVSlotStore: the fixed part filled in place, generated tokens appended):
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
#include "harness/kv/kv_counters.h"
#include "harness/kv/method.h"
#include "harness/kv/slot_store.h"
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
    const int64_t layers = model.shape.num_layers;
    layers_.assign(static_cast<size_t>(layers), Layer{});
    KVSlotStore::Layout prompt;
    prompt.fields = {{"key_pre_rope"}, {"key"}, {"value"}};
    prompt_.reset(layers, hint_, prompt);
    buffer_.reset(layers, hint_, KVSlotStore::Layout{});
    counters_.reset();
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "shadowkv: padded batches are not supported");
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    at::Tensor out = call.phase == AttentionPhase::kPrefill ? prefill(layer, call) : decode(layer, call);
    counters_.observe(resident());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(resident());
    for (const Layer& l : layers_)
      if (l.built) m.layer_budgets.push_back(l.budget);
    return m;
  }

  nlohmann::json stats() const override {
    const int64_t hits = counters_.cache_hits(), lookups = counters_.cache_lookups();
    nlohmann::json s = {{"sparse_budget", budget_.describe()}, {"svd", svd_ == shadowkv::SvdRoute::kGram ? "gram" : "exact"},
                        {"reuse_hits", reuse_hits_}, {"cache_hits", hits}, {"cache_lookups", lookups}};
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
    if (lookups > 0) s["hit_rate"] = static_cast<double>(hits) / static_cast<double>(lookups);
    return s;
  }

 private:
  enum Field : size_t { kKeys, kValues };                 // buffer_
  enum PromptField : size_t { kKeyPre, kKey, kValue };    // prompt_
  struct Layer {
    bool built = false;
    ChunkLayout layout;
    shadowkv::LowRankKeys factors;  // u [B,S,r], sv [B,Hkv,r,d] (undefined when nothing is selectable)
    at::Tensor landmarks;           // [B, Hkv, C', d]
    at::Tensor landmark_ids;        // [B, Hkv, C'] int64
    at::Tensor resident;            // [B*Hkv, k] chunk id held by each sparse slot
    KVBuffer host_values;           // [B, Hkv, C, chunk*d] pinned host
    int64_t sparse_start = 0;       // first sparse slot of buffer_
    LayerBudget budget;
  };

  at::Tensor prefill(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    KVBENCH_CHECK(!layer.built, "shadowkv: layer ", l, " got a prefill chunk after its prompt ended");
    KVBENCH_CHECK(call.slot_offset == prompt_.length(l), "shadowkv: layer ", l, " expected slot ",
                  prompt_.length(l), ", got ", call.slot_offset);
    prompt_.append(l, {call.key_pre_rope, call.key, call.value});
    at::Tensor out = call.output_wanted ? exact_attention(call.query, prompt_.filled(l, kKey), prompt_.filled(l, kValue),
                                                          call.slot_offset, at::Tensor(), call.scale)
                                         : at::Tensor();
    if (l == 0) counters_.set_tokens_attended(static_cast<double>(prompt_.length(l)));
    if (call.last_prefill_chunk) build(layer, call);
    return out;
  }

  // End of the prompt: factors, landmarks, outliers, offloaded values, and the attention buffer.
  void build(Layer& layer, const AttentionCall& call) {
    const int64_t layer_index = call.layer;
    const at::Tensor key = prompt_.filled(layer_index, kKey);
    const at::Tensor value = prompt_.filled(layer_index, kValue);
    const int64_t b = key.size(0), hkv = key.size(1), s = key.size(2), d = key.size(3);
    // Positions must be the prompt slots (the reconstruction rotates chunk c at 8c..8c+7).
    KVBENCH_CHECK(call.positions.select(1, call.positions.size(1) - 1).eq(s - 1).all().item<bool>(),
                  "shadowkv: prompt positions must be 0..S-1 (layer ", call.layer, ")");
    const ChunkLayout l = shadowkv::chunk_layout(s, chunk_, local_chunks_, outlier_chunks_,
                                                 budget_.resolve(s, /*clamp_to_prompt=*/false));
    layer.layout = l;
    shadowkv::ChunkSummary summary = shadowkv::summarize_chunks(key, l);
    // The buffer: a fixed part (local | outliers | sparse) then the generated region, sized by the
    // reset() hint (geometric growth past it).
    const int64_t gen_capacity = std::max<int64_t>(hint_ - s, 1);
    const int64_t fixed = l.prefill_local + (l.outliers + l.selected) * chunk_;
    buffer_.set_capacity(layer_index, fixed + gen_capacity, {key, value});
    buffer_.set_length(layer_index, fixed);
    const at::Tensor keys = buffer_.storage(layer_index, kKeys), values = buffer_.storage(layer_index, kValues);
    keys.narrow(2, 0, l.prefill_local).copy_(key.narrow(2, s - l.prefill_local, l.prefill_local));
    values.narrow(2, 0, l.prefill_local).copy_(value.narrow(2, s - l.prefill_local, l.prefill_local));
    if (l.outliers > 0) {
      gather_rows(chunk_rows(key, 0, l.chunks, chunk_), summary.outlier_ids,
                  chunk_rows(keys, l.prefill_local, l.outliers, chunk_), /*check_indices=*/false);
      gather_rows(chunk_rows(value, 0, l.chunks, chunk_), summary.outlier_ids,
                  chunk_rows(values, l.prefill_local, l.outliers, chunk_), /*check_indices=*/false);
    }
    layer.sparse_start = l.prefill_local + l.outliers * chunk_;
    if (l.selected > 0) {
      layer.factors = shadowkv::low_rank_keys(prompt_.filled(layer_index, kKeyPre), rank_, key.scalar_type(), svd_);
      layer.landmarks = summary.landmarks;
      layer.landmark_ids = summary.landmark_ids;
      layer.host_values = allocate_kv_buffer({b, hkv, l.chunks, chunk_ * d}, value.scalar_type(),
                                             KVPlacement::kPinnedHost, value.device());
      layer.host_values.host_or_device.copy_(value.narrow(2, 0, l.chunks * chunk_).reshape({b, hkv, l.chunks, chunk_ * d}));
      // Pre-fill the sparse slots with the last prompt query's selection (values from the prompt).
      at::Tensor q = call.query.narrow(2, call.query.size(2) - 1, 1);
      at::Tensor ids = shadowkv::select_chunks(q, layer.landmarks, layer.landmark_ids, l.selected);
      gather_rows(chunk_rows(value, 0, l.chunks, chunk_), ids,
                  chunk_rows(values, layer.sparse_start, l.selected, chunk_), /*check_indices=*/false);
      keys.narrow(2, layer.sparse_start, l.selected * chunk_)
          .copy_(shadowkv::reconstruct_keys(layer.factors, ids, chunk_, *model_.rope));
      layer.resident = ids.reshape({b * hkv, l.selected}).contiguous();
    }
    layer.budget = LayerBudget{0, l.prefill_local, l.outliers * chunk_, l.selected * chunk_, 0};
    prompt_.clear(layer_index);
    layer.built = true;
  }

  at::Tensor decode(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    KVBENCH_CHECK(layer.built, "shadowkv: decode before the prompt of layer ", l, " ended");
    KVBENCH_CHECK(call.key.size(2) == 1, "shadowkv: decode takes one token per step, got ", call.key.size(2));
    buffer_.append(l, {call.key, call.value});
    ++layer.budget.generated;
    counters_.set_transient_bytes(0);
    if (layer.layout.selected > 0) refresh_sparse(layer, call);
    const int64_t filled = buffer_.length(l);
    if (l == 0) counters_.set_tokens_attended(static_cast<double>(filled));
    return exact_attention(call.query, buffer_.filled(l, kKeys), buffer_.filled(l, kValues), filled - 1, at::Tensor(),
                           call.scale);
  }

  // Selects this step's chunks and brings the missing ones into the sparse slots.
  void refresh_sparse(Layer& layer, const AttentionCall& call) {
    const ChunkLayout& l = layer.layout;
    const at::Tensor keys = buffer_.storage(call.layer, kKeys), values = buffer_.storage(call.layer, kValues);
    const int64_t b = keys.size(0), hkv = keys.size(1), d = keys.size(3), k = l.selected;
    const int64_t rows = b * hkv, row_elems = chunk_ * d, elem = keys.element_size();
    at::Tensor wanted = shadowkv::select_chunks(call.query, layer.landmarks, layer.landmark_ids, k).reshape({rows, k});
    at::Tensor resident = reuse_hits_ ? layer.resident : at::full_like(layer.resident, -1);
    shadowkv::SlotUpdate update = shadowkv::update_slots(resident, wanted, l.chunks);
    counters_.count_lookups(update.hits, rows * k);
    layer.resident = update.resident;
    const int64_t m = update.miss_ids.size(1);
    // Working set: fp32 scores and probabilities, then the misses' U rows, keys and value staging.
    counters_.set_transient_bytes(2 * 4 * call.query.size(0) * call.query.size(1) * l.landmarks +
                                  rows * m * chunk_ * (layer.factors.rank() + d) * elem + update.misses * row_elems * elem);
    if (update.misses == 0) return;
    at::Tensor row_of = at::arange(rows, wanted.options()).unsqueeze(1).expand({rows, m});
    at::Tensor miss_row = row_of.masked_select(update.miss_valid);
    at::Tensor miss_slot = update.miss_slots.masked_select(update.miss_valid);
    at::Tensor miss_chunk = update.miss_ids.masked_select(update.miss_valid);
    at::Tensor miss_b = miss_row.div(hkv, "floor"), miss_h = miss_row.remainder(hkv);
    // Values: host rows (row * C + chunk) of the chunk-major store -> staging -> their slots.
    at::Tensor staging = at::empty({update.misses, row_elems}, values.options());
    HostToDevice& transfer = counters_.transfer(values.device());
    transfer.gather(layer.host_values.host_or_device.view({rows * l.chunks, row_elems}), 0,
                    miss_row * l.chunks + miss_chunk, staging);
    transfer.wait();
    put_rows(chunk_rows(values, layer.sparse_start, k, chunk_), miss_b, miss_h, miss_slot, staging);
    // Keys: rebuilt for every row's (padded) miss list, valid ones written to their slots.
    at::Tensor rebuilt = shadowkv::reconstruct_keys(layer.factors, update.miss_ids.view({b, hkv, m}), chunk_, *model_.rope);
    at::Tensor valid_keys =
        rebuilt.reshape({rows, m, row_elems}).masked_select(update.miss_valid.unsqueeze(-1)).view({update.misses, row_elems});
    put_rows(chunk_rows(keys, layer.sparse_start, k, chunk_), miss_b, miss_h, miss_slot, valid_keys);
  }

  // Device: the prompt store and the attention buffer (K/V rows) plus each layer's fixed selection
  // metadata; host: the offloaded values.
  KVResidentBytes resident() const {
    KVResidentBytes bytes = buffer_.bytes();
    prompt_.add_bytes(bytes);
    for (const Layer& l : layers_) {
      for (const at::Tensor* t : {&l.factors.u, &l.factors.sv, &l.landmarks, &l.landmark_ids, &l.resident})
        bytes.add_device(*t, KVByteRole::kMetadata);
      bytes.add_host(l.host_values.bytes());
    }
    return bytes;
  }

  TokenBudget budget_;
  int64_t rank_, chunk_, local_chunks_, outlier_chunks_;
  bool reuse_hits_;
  shadowkv::SvdRoute svd_;
  ModelView model_;
  int64_t hint_ = 1;
  std::vector<Layer> layers_;
  // During prefill: the prompt so far, [B, Hkv, capacity, d] pre-RoPE keys, keys, values.
  KVSlotStore prompt_;
  // After it: [B, Hkv, capacity, d] keys, values: local | outliers | sparse slots | generated.
  KVSlotStore buffer_;
  KVCounters counters_;  // hits/lookups: sparse slots already holding a selected chunk
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
    {{"budget_params", {"sparse_budget"}}, {"shared_prefill", {{"uses", {"query", "key_pre_rope"}}}}}});

}  // namespace kvbench
