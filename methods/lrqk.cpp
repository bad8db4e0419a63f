// SPDX-License-Identifier: Apache-2.0
// "lrqk" (Li et al., NeurIPS 2025; reference tenghuilee/LRQK @ f3b843f lrqk_attention.py
// DynamicLRQKCache + LightAttentionIndicesFactory; ../shared/docs/methods.md section 5). Per layer,
// per query head (keys/values repeated over each GQA group, as the reference):
//   prompt: exact causal attention. Once the layer has seen `active` tokens (at the end of the
//     prompt, or at the decode step that reaches it: the reference's "collecting" state keeps every
//     row until then), rank-r factors A_Q, B_Q, A_K, B_K are fitted to all queries/keys seen
//     (methods/lrqk_factors.h, randn init from a fixed seed per layer), every K/V row goes to pinned
//     host memory [B, Hkv, n, d], and the device keeps A_K [B, Hq, n, r], B_Q, B_K [B, Hq, r, d] and
//     a working set [B, Hq, active + lite, d]: `active` slots chosen by the low-rank score of the
//     last query row, then a ring of the `lite` most recent tokens.
//   decode step: the token enters the lite ring (and the host store); while the layer holds at most
//     active + lite tokens every row stays in the working set and is attended. After that: the
//     query/key coefficients hat_q, hat_k are solved against the working set (its A_K rows; the new
//     token's row is still zero there, as in the reference's zero-initialised buffer), B_Q, B_K take
//     one gradient step, hat_k becomes the token's A_K row; scores A_K hat_q over the candidates
//     (tokens before the lite ring's oldest token minus one: the reference narrows A_K to
//     lite_indices[lite_len] - 1 rows, so the token that just left the ring waits one step) pick
//     the `active` tokens; slots already holding a chosen token keep it (hits), the others are
//     refilled with the missing rows copied from the host through HostToDevice (misses; bytes
//     counted); exact attention over the working set.
// Differences from the reference (none changes which rows are attended): a token's host copy is
// written when it arrives (the reference copies the lite ring every `lite` tokens); a prompt of
// exactly active + lite tokens wraps the ring (the reference indexes past its lite list there);
// only the weights lambda = 1 (its defaults, the _w1 solvers) are offered; the rank is clamped to
// min(rank, head_dim, tokens fitted) so the r x r systems stay regular.
// Memory before the fit: the layer's queries, keys and values stay on the device (the fit needs
// all queries); with a whole-prompt prefill only the layer being computed holds them, with chunked
// prefill every layer holds its prompt queries until the last chunk.
// Batches must not be padded (kvbench runs one sequence per sample).
#include "harness/kv/attention.h"
#include "harness/kv/budget.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/method.h"
#include "harness/kv/placement.h"
#include "harness/kv/slot_store.h"
#include "harness/kv/transfer.h"
#include "methods/lrqk_factors.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace kvbench {
namespace {

// [B, Hkv, n, d] -> [B, Hkv * group, n, d]: query head h reads KV head h / group (repeat_kv).
at::Tensor repeat_heads(const at::Tensor& x, int64_t group) {
  return group == 1 ? x : x.repeat_interleave(group, /*dim=*/1);
}

class Lrqk : public KVMethod {
 public:
  explicit Lrqk(const nlohmann::json& p)
      : budget_(TokenBudget::parse(p["active"], "method.params.active")),
        lite_(p["lite"].get<int64_t>()),
        rank_(p["rank"].get<int64_t>()),
        prefill_iterations_(p["max_iter_prefill"].get<int64_t>()),
        decode_iterations_(p["max_iter_decode"].get<int64_t>()),
        prefill_tol_(p["tol_prefill"].get<double>()),
        decode_tol_(p["tol_decode"].get<double>()),
        seed_(p["seed"].get<int64_t>()) {}

  void reset(const ModelView& model, int64_t, int64_t max_tokens) override {
    model_ = model;
    const int64_t layers = model.shape.num_layers;
    const int64_t hint = std::max<int64_t>(max_tokens, 1);
    layers_.assign(static_cast<size_t>(layers), Layer{});
    KVSlotStore::Layout seen;
    seen.fields = {{"query", 2, KVByteRole::kMetadata}, {"keys"}, {"values"}};
    seen_.reset(layers, hint, seen);
    KVSlotStore::Layout a_k;
    a_k.fields = {{"a_k", 2, KVByteRole::kMetadata}};
    a_k_.reset(layers, hint, a_k);
    working_.reset(layers, hint, KVSlotStore::Layout{});
    KVSlotStore::Layout host;
    host.placement = KVPlacement::kPinnedHost;
    host_.reset(layers, hint, host);
    counters_.reset();
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "lrqk: padded batches are not supported");
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    counters_.set_transient_bytes(0);
    at::Tensor out;
    if (!layer.built) {
      out = collect(layer, call);
    } else {
      KVBENCH_CHECK(call.phase == AttentionPhase::kDecode, "lrqk: layer ", call.layer,
                    " got a prefill chunk after its prompt ended");
      out = decode(layer, call);
    }
    counters_.observe(resident());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(resident());
    for (const Layer& l : layers_)
      if (l.prompt_done) m.layer_budgets.push_back(l.budget);
    return m;
  }

  nlohmann::json stats() const override {
    const int64_t hits = counters_.cache_hits(), lookups = counters_.cache_lookups();
    nlohmann::json s = {{"active", budget_.describe()}, {"lite", lite_},       {"seed", seed_},
                        {"cache_hits", hits},          {"cache_lookups", lookups}};
    if (!layers_.empty()) {
      const Layer& l = layers_[0];
      s["active_tokens"] = l.active;
      s["rank"] = l.rank;
      s["factored"] = l.built;
      s["prefill_iterations"] = l.prefill_iterations;
    }
    if (lookups > 0) s["hit_rate"] = static_cast<double>(hits) / static_cast<double>(lookups);
    return s;
  }

 private:
  enum SeenField : size_t { kQuery, kSeenKeys, kSeenValues };  // seen_
  enum KVField : size_t { kKeys, kValues };                    // working_, host_
  struct Layer {
    bool prompt_done = false;     // the prompt ended (active resolved, budget reported)
    bool built = false;           // factors fitted, rows offloaded
    int64_t active = 0;           // resolved `active` budget (tokens)
    int64_t rank = 0;             // effective rank
    int64_t length = 0;           // tokens seen
    int64_t prefill_iterations = 0;
    at::Tensor b_q, b_k;          // [B, Hq, r, d] compute dtype
    at::Tensor resident;          // [B, Hq, active] token held by each active slot
    std::vector<int64_t> lite_tokens;  // token held by each lite slot (-1: empty)
    int64_t lite_next = 0;        // next lite slot written = the oldest token once the ring is full
    LayerBudget budget;
  };

  // Prompt chunks and the decode steps before the layer holds `active` tokens: every row kept
  // on the device (queries too, for the fit), exact attention.
  at::Tensor collect(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    KVBENCH_CHECK(call.slot_offset == seen_.length(l), "lrqk: layer ", l, " expected slot ", seen_.length(l), ", got ",
                  call.slot_offset);
    KVBENCH_CHECK(call.phase == AttentionPhase::kPrefill || layer.prompt_done, "lrqk: decode before the prompt of layer ",
                  l, " ended");
    seen_.append(l, {call.query, call.key, call.value});
    layer.length = seen_.length(l);
    at::Tensor out = call.output_wanted ? exact_attention(call.query, seen_.filled(l, kSeenKeys),
                                                          seen_.filled(l, kSeenValues), call.slot_offset, at::Tensor(),
                                                          call.scale)
                                         : at::Tensor();
    if (l == 0) counters_.set_tokens_attended(static_cast<double>(layer.length));
    if (call.phase == AttentionPhase::kPrefill && call.last_prefill_chunk) {
      layer.prompt_done = true;
      layer.active = budget_.resolve(layer.length, /*clamp_to_prompt=*/false);
      KVBENCH_CHECK(layer.active >= 1, "lrqk: method.params.active resolves to 0 tokens for a ", layer.length,
                    "-token prompt");
    }
    if (call.phase == AttentionPhase::kDecode) ++layer.budget.generated;
    if (layer.prompt_done) {
      layer.budget.local = layer.length - layer.budget.generated;  // every row kept exactly so far
      if (layer.length >= layer.active) build(layer, l);
    }
    return out;
  }

  // The layer reached `active` tokens: fit the factors, offload every row, fill the working set.
  void build(Layer& layer, int64_t l) {
    const at::Tensor q = seen_.filled(l, kQuery), k = seen_.filled(l, kSeenKeys), v = seen_.filled(l, kSeenValues);
    const int64_t b = q.size(0), hq = q.size(1), n = q.size(2), d = q.size(3), group = hq / k.size(1);
    const int64_t active = layer.active, window = active + lite_;
    const at::ScalarType fd = lrqk::factor_dtype(k.scalar_type());
    const at::Tensor k_rep = repeat_heads(k, group), v_rep = repeat_heads(v, group);
    layer.rank = std::min({rank_, d, n});
    const lrqk::FactorInit init = lrqk::random_init(static_cast<uint64_t>(seed_ + l), b, hq, n, layer.rank,
                                                    q.options().dtype(fd));
    const lrqk::Factors f =
        lrqk::fit_prefill(q.to(fd), k_rep.to(fd), init.a_q, init.a_k, prefill_iterations_, prefill_tol_);
    layer.prefill_iterations = f.iterations;
    const at::ScalarType dtype = k.scalar_type();
    const at::Tensor a_q = f.a_q.to(dtype), a_k = f.a_k.to(dtype);
    layer.b_q = f.b_q.to(dtype);
    layer.b_k = f.b_k.to(dtype);
    a_k_.append(l, {a_k});
    host_.append(l, {k, v});
    working_.set_capacity(l, window, {k_rep.narrow(2, 0, 1), v_rep.narrow(2, 0, 1)});
    const at::Tensor keys = working_.storage(l, kKeys), values = working_.storage(l, kValues);
    layer.lite_tokens.assign(static_cast<size_t>(lite_), -1);
    if (n <= window) {
      // Everything fits: slots = token order; the lite ring holds tokens active.. n-1.
      keys.narrow(2, 0, n).copy_(k_rep);
      values.narrow(2, 0, n).copy_(v_rep);
      working_.set_length(l, n);
      layer.resident = at::arange(active, q.options().dtype(at::kLong)).expand({b, hq, active}).contiguous();
      for (int64_t j = 0; active + j < n; ++j) layer.lite_tokens[static_cast<size_t>(j)] = active + j;
      layer.lite_next = (n - active) % lite_;
    } else {
      // The last query's low-rank scores pick the active rows among all but the last `lite`.
      layer.resident = lrqk::top_tokens(a_k.narrow(2, 0, n - lite_), a_q.narrow(2, n - 1, 1), active);
      const at::Tensor index = layer.resident.unsqueeze(-1).expand({b, hq, active, d});
      keys.narrow(2, 0, active).copy_(at::gather(k_rep, 2, index));
      values.narrow(2, 0, active).copy_(at::gather(v_rep, 2, index));
      keys.narrow(2, active, lite_).copy_(k_rep.narrow(2, n - lite_, lite_));
      values.narrow(2, active, lite_).copy_(v_rep.narrow(2, n - lite_, lite_));
      working_.set_length(l, window);
      for (int64_t j = 0; j < lite_; ++j) layer.lite_tokens[static_cast<size_t>(j)] = n - lite_ + j;
      layer.lite_next = 0;
    }
    seen_.clear(l);
    layer.built = true;
    set_budget(layer, working_.length(l));
  }

  void set_budget(Layer& layer, int64_t attended) {
    layer.budget = LayerBudget{};
    layer.budget.selected = std::min(attended, layer.active);
    layer.budget.local = attended - layer.budget.selected;
  }

  at::Tensor decode(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    KVBENCH_CHECK(call.key.size(2) == 1, "lrqk: decode takes one token per step, got ", call.key.size(2));
    KVBENCH_CHECK(call.slot_offset == layer.length, "lrqk: layer ", l, " expected slot ", layer.length, ", got ",
                  call.slot_offset);
    const int64_t hq = call.query.size(1), group = hq / call.key.size(1), active = layer.active;
    const int64_t window = active + lite_;
    const at::ScalarType fd = lrqk::factor_dtype(call.key.scalar_type()), dtype = call.key.scalar_type();
    host_.append(l, {call.key, call.value});
    const at::Tensor k_rep = repeat_heads(call.key, group), v_rep = repeat_heads(call.value, group);
    const at::Tensor keys = working_.storage(l, kKeys), values = working_.storage(l, kValues);
    const int64_t slot = active + layer.lite_next;
    keys.narrow(2, slot, 1).copy_(k_rep);
    values.narrow(2, slot, 1).copy_(v_rep);
    layer.lite_tokens[static_cast<size_t>(layer.lite_next)] = layer.length;
    layer.lite_next = (layer.lite_next + 1) % lite_;
    const int64_t n = ++layer.length;
    if (n <= window) {
      // Every row is still in the working set (slot = token): update the factors, attend all.
      working_.set_length(l, n);
      const lrqk::DecodeUpdate u = lrqk::decode_update(
          layer.b_q.to(fd), a_k_.filled(l, 0).to(fd), layer.b_k.to(fd), keys.narrow(2, 0, n - 1).to(fd),
          call.query.to(fd), k_rep.to(fd), decode_iterations_, decode_tol_);
      store_update(layer, l, u, dtype);
    } else {
      // Working-set A_K rows: the active slots' tokens, then the lite ring's (the new token's row,
      // not yet fitted, is zero).
      const at::Tensor a_k = a_k_.filled(l, 0);
      const at::Tensor a_k_ext = at::cat({a_k, at::zeros_like(a_k.narrow(2, 0, 1))}, 2);  // row n-1 = 0
      const at::Tensor lite = at::tensor(layer.lite_tokens, layer.resident.options())
                                  .view({1, 1, lite_})
                                  .expand({layer.resident.size(0), hq, lite_});
      const at::Tensor ws_tokens = at::cat({layer.resident, lite}, 2);
      const at::Tensor a_k_ws = at::gather(a_k_ext, 2, ws_tokens.unsqueeze(-1).expand({-1, -1, -1, a_k.size(3)}));
      const lrqk::DecodeUpdate u =
          lrqk::decode_update(layer.b_q.to(fd), a_k_ws.to(fd), layer.b_k.to(fd), keys.to(fd), call.query.to(fd),
                              k_rep.to(fd), decode_iterations_, decode_tol_);
      store_update(layer, l, u, dtype);
      const int64_t oldest = layer.lite_tokens[static_cast<size_t>(layer.lite_next)];
      const at::Tensor wanted =
          lrqk::top_tokens(a_k_.filled(l, 0).narrow(2, 0, oldest - 1), u.hat_q.to(dtype), active);
      refresh(layer, l, wanted, group);
    }
    const int64_t attended = working_.length(l);
    set_budget(layer, attended);
    if (l == 0) counters_.set_tokens_attended(static_cast<double>(attended));
    return exact_attention(call.query, working_.filled(l, kKeys), working_.filled(l, kValues), attended - 1,
                           at::Tensor(), call.scale);
  }

  void store_update(Layer& layer, int64_t l, const lrqk::DecodeUpdate& u, at::ScalarType dtype) {
    layer.b_q = u.b_q.to(dtype);
    layer.b_k = u.b_k.to(dtype);
    a_k_.append(l, {u.hat_k.to(dtype)});
  }

  // Brings the wanted tokens into the active slots: hits stay, misses are copied from the host.
  void refresh(Layer& layer, int64_t l, const at::Tensor& wanted, int64_t group) {
    const lrqk::SlotUpdate u = lrqk::replace_missing(layer.resident, wanted);
    layer.resident = u.resident;
    const int64_t b = wanted.size(0), hq = wanted.size(1), active = wanted.size(2);
    counters_.count_lookups(b * hq * active - u.misses, b * hq * active);
    const at::Tensor keys = working_.storage(l, kKeys), values = working_.storage(l, kValues);
    const int64_t d = keys.size(3), window = keys.size(2), elem = keys.element_size();
    // Working buffers: the scores over the candidates and the two staging tensors of the misses.
    counters_.set_transient_bytes(b * hq * a_k_.length(l) * elem + 2 * u.misses * d * elem);
    if (u.misses == 0) return;
    const at::Tensor where = u.refill.nonzero();  // [m, 3]: b, query head, slot
    const at::Tensor tokens = u.resident.index({u.refill});
    const at::Tensor row_b = where.select(1, 0), row_h = where.select(1, 1), row_slot = where.select(1, 2);
    const at::Tensor host_keys = host_.storage(l, kKeys), host_values = host_.storage(l, kValues);
    const int64_t hkv = host_keys.size(1), capacity = host_keys.size(2);
    const at::Tensor host_row = (row_b * hkv + row_h.div(group, "floor")) * capacity + tokens;
    const at::Tensor device_row = (row_b * hq + row_h) * window + row_slot;
    at::Tensor staged_keys = at::empty({u.misses, d}, keys.options());
    at::Tensor staged_values = at::empty({u.misses, d}, values.options());
    HostToDevice& transfer = counters_.transfer(keys.device());
    transfer.gather(host_keys.view({-1, d}), 0, host_row, staged_keys);
    transfer.gather(host_values.view({-1, d}), 0, host_row, staged_values);
    transfer.wait();
    keys.view({-1, d}).index_copy_(0, device_row, staged_keys);
    values.view({-1, d}).index_copy_(0, device_row, staged_values);
  }

  // Device: rows seen before the fit (queries as metadata), the working sets, A_K and each layer's
  // B_Q, B_K and resident-token table (metadata); host: the offloaded K/V rows.
  KVResidentBytes resident() const {
    KVResidentBytes bytes = working_.bytes();
    seen_.add_bytes(bytes);
    a_k_.add_bytes(bytes);
    host_.add_bytes(bytes);
    for (const Layer& l : layers_)
      for (const at::Tensor* t : {&l.b_q, &l.b_k, &l.resident}) bytes.add_device(*t, KVByteRole::kMetadata);
    return bytes;
  }

  TokenBudget budget_;
  int64_t lite_, rank_, prefill_iterations_, decode_iterations_;
  double prefill_tol_, decode_tol_;
  int64_t seed_;
  ModelView model_;
  std::vector<Layer> layers_;
  KVSlotStore seen_;     // before the fit: [B, Hq, n, d] queries, [B, Hkv, n, d] keys, values (device)
  KVSlotStore a_k_;      // after it: [B, Hq, n, r] A_K rows of every token (device)
  KVSlotStore working_;  // [B, Hq, active + lite, d] keys, values: active slots | lite ring (device)
  KVSlotStore host_;     // [B, Hkv, n, d] keys, values of every token (pinned host)
  KVCounters counters_;  // hits/lookups: active slots already holding a chosen token
};

ParamSpecs lrqk_params() {
  return {
      budget_param("active", 2048,
                   "tokens chosen per query head per step by the low-rank score: a token count, a fraction of "
                   "the prompt (< 1) or \"P%\"",
                   "selected"),
      with_budget_role({"lite", ParamType::kInt, 64, "most recent tokens kept in the working set (a ring)", 1.0},
                       "local"),
      {"rank", ParamType::kInt, 32, "rank r of the query/key factors (clamped to head_dim)", 1.0},
      {"max_iter_prefill", ParamType::kInt, 2, "alternating iterations of the prefill fit", 1.0},
      {"max_iter_decode", ParamType::kInt, 2, "alternating iterations of the decode coefficients", 1.0},
      {"tol_prefill", ParamType::kFloat, 1e-2, "prefill stops once the mean squared change of A_Q/A_K is below", 0.0},
      {"tol_decode", ParamType::kFloat, 1e-2, "decode stops once the mean squared change of hat_k is below", 0.0},
      {"seed", ParamType::kInt, 0, "seed of the randn initialisation (layer l uses seed + l)", 0.0},
  };
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "lrqk",
    "LRQK: rank-r query/key factors pick the active tokens per query head; K/V offloaded to pinned host "
    "memory, missing rows fetched per step",
    lrqk_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new Lrqk(p)); },
    {{"budget_params", {"active"}}, {"shared_prefill", {{"uses", {"query"}}}}}});

}  // namespace kvbench
