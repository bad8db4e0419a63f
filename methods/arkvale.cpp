// SPDX-License-Identifier: Apache-2.0
// "arkvale" (Chen et al., NeurIPS 2024; reference pku-liang/ArkVale @ 0c3b45e source/arkvale/
// infer_state.py, kv_cache.py, adapter/modeling.py, arkvale_cpp/src/estimate.cu + select.cu; the
// study's fork AndreyBocharnikov/ArkVale GQA_3_fix, chat_arkvale.py + run_config.py;
// ../shared/docs/methods.md section 4): recallable page eviction with physical offloading.
// - Prefill is exact causal attention. At the end of the prompt (S tokens, P = ceil(S / page) pages)
//   each sparse layer (all but the first `dense_layers`) resolves its budget: k = max(1, ceil(
//   token_budget / page)) ranked pages per step (the study's rounding of its token_budget), and a
//   device page cache of C = cache_pages pages (0: sink_pages + window_pages + k, the study's
//   page_budgets = page_topks + 1). A layer whose prompt fits (P <= C) keeps it on the device like
//   "full" (nothing can ever be evicted). Otherwise it keeps:
//     device: the cuboid digests [B, Hkv, P - 1, 2d] of the P - 1 full pages (the last page has none
//       until it fills, as in the reference), and the page cache [B, Hkv, rows, d]: C slots of one
//       page each, the last slot holding the prompt's last (possibly partial) page, then the
//       generated tokens (the study's fork does not offload generated tokens);
//     host (pinned): a backup of every prompt page's K and V [B, Hkv, P * page, d] (the last page
//       zero-padded), and the slot -> page table (methods/arkvale_pages.h PageTable).
//   The cache starts (prefill_evict_extra_pages) with max(2, sink_pages) sink pages, the last
//   window_pages pages and the best C - max(2, sink_pages) - window_pages pages by the last prompt
//   query's scores averaged over all query heads.
// - Decode step, sparse layer: the token is appended to the generated region; the pages [sink_pages,
//   P - window_pages) are scored by the cuboid upper bound (per query head, averaged over all query
//   heads with ranking "layer", or over each KV head's group with "kv_head"); the top k must be
//   resident: the missing ones are recalled from the host backup through the transfer layer
//   (HostToDevice, bytes counted), each into the slot of the lowest-scored resident page that is not
//   in the top k; then exact attention over the whole cache (every resident page + generated tokens,
//   use_sparse_attn = False). Dense layers and fitting layers attend their whole cache.
// Differences from the reference (all documented in ../shared/docs/methods.md section 4 or the fork):
// generated tokens stay on the device (the fork), so the window is the prompt's last pages and
// never slides; ties in the ranking go to the lower page (the radix select leaves them unordered);
// no cross-layer prefetch (n_prefetch_layers = None, the default). The page table lives on the
// host: the reference also reads its recall list on the host (InferState.recall).
// Batches must not be padded (kvbench runs one sequence per sample; pages are aligned to slot 0).
#include "harness/kv/attention.h"
#include "harness/kv/budget.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/method.h"
#include "harness/kv/placement.h"
#include "harness/kv/slot_store.h"
#include "harness/kv/transfer.h"
#include "methods/arkvale_pages.h"

#include <algorithm>
#include <string>
#include <vector>

namespace kvbench {
namespace {

using arkvale::DigestKind;
using arkvale::PageTable;

class ArkVale : public KVMethod {
 public:
  explicit ArkVale(const nlohmann::json& p)
      : budget_(TokenBudget::parse(p["token_budget"], "method.params.token_budget")),
        page_size_(p["page_size"].get<int64_t>()),
        cache_pages_(p["cache_pages"].get<int64_t>()),
        sink_pages_(p["sink_pages"].get<int64_t>()),
        window_pages_(p["window_pages"].get<int64_t>()),
        dense_layers_(p["dense_layers"].get<int64_t>()),
        digest_(arkvale::parse_digest_kind(p["digest"].get<std::string>())),
        per_kv_head_(p["ranking"].get<std::string>() == "kv_head") {}

  void reset(const ModelView& model, int64_t, int64_t max_tokens) override {
    model_ = model;
    hint_ = std::max<int64_t>(max_tokens, 1);
    const int64_t layers = model.shape.num_layers;
    layers_.assign(static_cast<size_t>(layers), Layer{});
    kv_.reset(layers, hint_, KVSlotStore::Layout{});
    cache_.reset(layers, hint_, KVSlotStore::Layout{});
    counters_.reset();
    prompt_tokens_ = 0;
    decoding_ = false;
    recalled_pages_ = 0;
    paged_steps_ = 0;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "arkvale: padded batches are not supported");
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    counters_.set_transient_bytes(0);
    at::Tensor out = call.phase == AttentionPhase::kPrefill ? prefill(layer, call) : decode(layer, call);
    counters_.observe(resident());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(resident());
    double attended = 0;
    for (const Layer& l : layers_) {
      if (!l.built) continue;
      m.layer_budgets.push_back(l.budget);
      attended += static_cast<double>(l.budget.total());
    }
    // After the prompt: every prefill query attended the whole prompt; after a decode step: the mean
    // over layers of the rows each KV head attended (sink + window + ranked pages + generated).
    if (!m.layer_budgets.empty())
      m.tokens_attended = decoding_ ? attended / static_cast<double>(m.layer_budgets.size())
                                    : static_cast<double>(prompt_tokens_);
    return m;
  }

  nlohmann::json stats() const override {
    const int64_t hits = counters_.cache_hits(), lookups = counters_.cache_lookups();
    int64_t paged = 0;
    for (const Layer& l : layers_) paged += l.paged ? 1 : 0;
    nlohmann::json s = {{"token_budget", budget_.describe()},
                        {"page_size", page_size_},
                        {"sink_pages", sink_pages_},
                        {"window_pages", window_pages_},
                        {"dense_layers", dense_layers_},
                        {"digest", arkvale::digest_kind_name(digest_)},
                        {"ranking", per_kv_head_ ? "kv_head" : "layer"},
                        {"paged_layers", paged},
                        {"paged_layer_steps", paged_steps_},
                        {"recalled_pages", recalled_pages_},
                        {"cache_hits", hits},
                        {"cache_lookups", lookups}};
    for (const Layer& l : layers_) {
      if (!l.built || l.index < dense_layers_) continue;
      s["prompt_pages"] = l.pages;
      s["topk_pages"] = l.topk;
      s["cache_pages"] = l.cache_pages;
      break;
    }
    if (lookups > 0) s["hit_rate"] = static_cast<double>(hits) / static_cast<double>(lookups);
    return s;
  }

 private:
  enum Field : size_t { kKeys, kValues };
  struct Layer {
    bool built = false;       // the prompt ended for this layer
    bool paged = false;       // sparse layer whose prompt does not fit the cache
    int64_t index = 0;
    int64_t pages = 0;        // P
    int64_t topk = 0;         // k ranked pages per step
    int64_t cache_pages = 0;  // C
    int64_t groups = 1;       // rankings per sequence: 1 or Hkv
    int64_t fixed_rows = 0;   // (C - 1) * page + rows of the last page: the cache before generated tokens
    at::Tensor digests;       // [B, Hkv, P - 1, 2d] upper | lower corner
    KVBuffer host_keys;       // [B, Hkv, P * page, d] pinned host backup
    KVBuffer host_values;
    PageTable table;
    LayerBudget budget;
  };

  at::Tensor prefill(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    KVBENCH_CHECK(!layer.built, "arkvale: layer ", l, " got a prefill chunk after its prompt ended");
    KVBENCH_CHECK(call.slot_offset == kv_.length(l), "arkvale: layer ", l, " expected slot ", kv_.length(l), ", got ",
                  call.slot_offset);
    kv_.append(l, {call.key, call.value});
    at::Tensor out = call.output_wanted ? exact_attention(call.query, kv_.filled(l, kKeys), kv_.filled(l, kValues),
                                                          call.slot_offset, at::Tensor(), call.scale)
                                         : at::Tensor();
    if (call.last_prefill_chunk) build(layer, call);
    return out;
  }

  // End of the prompt: budgets, and for a paged layer digests, host backup, first selection, cache.
  void build(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    const int64_t s = kv_.length(l);
    prompt_tokens_ = s;
    layer.built = true;
    layer.index = l;
    layer.pages = (s + page_size_ - 1) / page_size_;
    const int64_t selected_tokens = budget_.resolve(s, /*clamp_to_prompt=*/false);
    layer.topk = std::max<int64_t>(1, (selected_tokens + page_size_ - 1) / page_size_);
    layer.cache_pages = cache_pages_ > 0 ? cache_pages_ : sink_pages_ + window_pages_ + layer.topk;
    const int64_t prefill_sinks = std::max<int64_t>(2, sink_pages_);
    KVBENCH_CHECK_CONFIG(layer.cache_pages >= sink_pages_ + window_pages_ + layer.topk &&
                             layer.cache_pages >= prefill_sinks + window_pages_,
                         "method.params.cache_pages: ", layer.cache_pages, " pages cannot hold ", sink_pages_,
                         " sink + ", window_pages_, " window + ", layer.topk, " ranked pages (token_budget ",
                         budget_.describe(), " of a ", s, "-token prompt) and the ", prefill_sinks,
                         " pages kept at prefill; use 0 (sinks + window + ranked) or more pages");
    if (l < dense_layers_ || layer.pages <= layer.cache_pages) {
      layer.budget = LayerBudget{0, s, 0, 0, 0};
      return;
    }
    layer.paged = true;
    const at::Tensor keys = kv_.filled(l, kKeys), values = kv_.filled(l, kValues);
    const int64_t b = keys.size(0), hkv = keys.size(1), d = keys.size(3);
    const int64_t p = layer.pages, c = layer.cache_pages, page = page_size_;
    const int64_t last_rows = s - (p - 1) * page;
    layer.groups = per_kv_head_ ? hkv : 1;
    layer.digests = arkvale::page_digests(keys.narrow(2, 0, (p - 1) * page), page, digest_);
    // Host backup of every page (prefill_backup_pages), the last page zero-padded.
    for (auto [host, rows] : {std::pair<KVBuffer*, const at::Tensor*>{&layer.host_keys, &keys}, {&layer.host_values, &values}}) {
      *host = allocate_kv_buffer({b, hkv, p * page, d}, rows->scalar_type(), KVPlacement::kPinnedHost, rows->device());
      host->host_or_device.narrow(2, 0, s).copy_(*rows);
      host->host_or_device.narrow(2, s, p * page - s).zero_();
    }
    // First selection: the last prompt query, averaged over all query heads (n_groups = 1).
    at::Tensor q_last = call.query.select(2, call.query.size(2) - 1);
    at::Tensor scores = arkvale::page_scores(q_last, layer.digests, 1);
    at::Tensor chosen = arkvale::rank_pages(scores, prefill_sinks, p - window_pages_, c - prefill_sinks - window_pages_)
                            .select(1, 0).cpu();  // [B, n]
    layer.table = PageTable(layer.groups, c, sink_pages_, window_pages_, p, prefill_sinks, chosen);
    // The device cache: C - 1 full slots, the last page's rows, then room for the generated tokens.
    layer.fixed_rows = (c - 1) * page + last_rows;
    cache_.set_capacity(l, layer.fixed_rows + std::max<int64_t>(hint_ - s, 1), {keys, values});
    cache_.set_length(l, layer.fixed_rows);
    at::Tensor slot_rows = slot_source_rows(layer.table, layer.groups, hkv, c - 1, page).to(keys.device());
    for (size_t f : {kKeys, kValues}) {
      const at::Tensor& src = f == kKeys ? keys : values;
      at::Tensor dst = cache_.storage(l, f);
      dst.narrow(2, 0, (c - 1) * page).copy_(at::gather(src, 2, slot_rows.unsqueeze(-1).expand({b, hkv, (c - 1) * page, d})));
      dst.narrow(2, (c - 1) * page, last_rows).copy_(src.narrow(2, (p - 1) * page, last_rows));
    }
    layer.budget = LayerBudget{sink_pages_ * page, (window_pages_ - 1) * page + last_rows, 0,
                               (c - sink_pages_ - window_pages_) * page, 0};
    kv_.clear(l);
  }

  // Prompt row of every token row of slots [0, slots): [B, Hkv, slots * page] int64 (CPU).
  static at::Tensor slot_source_rows(const PageTable& table, int64_t groups, int64_t hkv, int64_t slots, int64_t page) {
    const int64_t b = table.rows() / groups;
    at::Tensor rows = at::empty({b, hkv, slots * page}, at::kLong);
    int64_t* out = rows.data_ptr<int64_t>();
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t h = 0; h < hkv; ++h) {
        const int64_t row = bi * groups + (groups == 1 ? 0 : h);
        for (int64_t slot = 0; slot < slots; ++slot)
          for (int64_t t = 0; t < page; ++t) *out++ = table.page_at(row, slot) * page + t;
      }
    return rows;
  }

  at::Tensor decode(Layer& layer, const AttentionCall& call) {
    const int64_t l = call.layer;
    KVBENCH_CHECK(layer.built, "arkvale: decode before the prompt of layer ", l, " ended");
    KVBENCH_CHECK(call.key.size(2) == 1, "arkvale: decode takes one token per step, got ", call.key.size(2));
    decoding_ = true;
    ++layer.budget.generated;
    if (!layer.paged) {
      kv_.append(l, {call.key, call.value});
      return exact_attention(call.query, kv_.filled(l, kKeys), kv_.filled(l, kValues), kv_.length(l) - 1, at::Tensor(),
                             call.scale);
    }
    cache_.append(l, {call.key, call.value});
    recall_top_pages(layer, call);
    ++paged_steps_;
    return exact_attention(call.query, cache_.filled(l, kKeys), cache_.filled(l, kValues), cache_.length(l) - 1,
                           at::Tensor(), call.scale);
  }

  // Ranks the pages for this step's query and recalls the top ones that are not resident.
  void recall_top_pages(Layer& layer, const AttentionCall& call) {
    const at::Tensor keys = cache_.storage(call.layer, kKeys), values = cache_.storage(call.layer, kValues);
    const int64_t b = keys.size(0), hkv = keys.size(1), d = keys.size(3), page = page_size_;
    const int64_t g = layer.groups, heads = hkv / g, rows = b * g;
    at::Tensor scores = arkvale::page_scores(call.query.select(2, 0), layer.digests, g);  // [B, G, P - 1]
    at::Tensor wanted = arkvale::rank_pages(scores, sink_pages_, layer.pages - window_pages_, layer.topk);
    arkvale::TableUpdate update =
        layer.table.update(wanted.reshape({rows, layer.topk}).cpu(), scores.reshape({rows, layer.pages - 1}).cpu());
    counters_.count_lookups(update.hits, update.lookups);
    const int64_t n = static_cast<int64_t>(update.recalls.size()) * heads, row_elems = page * d;
    counters_.set_transient_bytes(static_cast<int64_t>(scores.nbytes()) + 2 * n * row_elems * keys.element_size());
    if (n == 0) return;
    recalled_pages_ += static_cast<int64_t>(update.recalls.size());
    // Host rows (b * Hkv + h) * P + page of the page-major backup; device (b, h, slot rows).
    std::vector<int64_t> host_row, dst_b, dst_h, dst_row;
    for (const arkvale::Recall& r : update.recalls) {
      const int64_t bi = r.row / g, first_head = g == 1 ? 0 : r.row % g;
      for (int64_t h = first_head; h < first_head + heads; ++h) {
        host_row.push_back((bi * hkv + h) * layer.pages + r.page);
        for (int64_t t = 0; t < page; ++t) {
          dst_b.push_back(bi);
          dst_h.push_back(h);
          dst_row.push_back(r.slot * page + t);
        }
      }
    }
    const at::Device device = keys.device();
    auto to_device = [&](const std::vector<int64_t>& v) { return at::tensor(v, at::kLong).to(device); };
    c10::List<std::optional<at::Tensor>> where;
    for (const auto* v : {&dst_b, &dst_h, &dst_row}) where.push_back(to_device(*v));
    const at::Tensor index = at::tensor(host_row, at::kLong);
    HostToDevice& transfer = counters_.transfer(device);
    for (auto [host, dst] : {std::pair<const KVBuffer*, at::Tensor>{&layer.host_keys, keys}, {&layer.host_values, values}}) {
      at::Tensor staging = at::empty({n, row_elems}, dst.options());
      transfer.gather(host->host_or_device.view({b * hkv * layer.pages, row_elems}), 0, index, staging);
      transfer.wait();
      dst.index_put_(where, staging.view({n * page, d}));
    }
  }

  // Device: the prompt/dense store, the page caches, the digests; host: backups and page tables.
  KVResidentBytes resident() const {
    KVResidentBytes bytes = kv_.bytes();
    cache_.add_bytes(bytes);
    for (const Layer& l : layers_) {
      if (!l.paged) continue;
      bytes.add_device(l.digests, KVByteRole::kMetadata);
      bytes.add_host(l.host_keys.bytes() + l.host_values.bytes() + l.table.bytes());
    }
    return bytes;
  }

  TokenBudget budget_;
  int64_t page_size_, cache_pages_, sink_pages_, window_pages_, dense_layers_;
  DigestKind digest_;
  bool per_kv_head_;
  ModelView model_;
  int64_t hint_ = 1;
  std::vector<Layer> layers_;
  KVSlotStore kv_;     // [B, Hkv, capacity, d]: the prompt while it is prefilled; dense / fitting layers' cache
  KVSlotStore cache_;  // paged layers: [B, Hkv, capacity, d]: C page slots (last one partial) | generated
  KVCounters counters_;  // hits/lookups: ranked pages already resident
  int64_t prompt_tokens_ = 0;
  bool decoding_ = false;
  int64_t recalled_pages_ = 0;  // pages copied host -> device, per ranking group (all layers)
  int64_t paged_steps_ = 0;
};

ParamSpecs arkvale_params() {
  return {
      budget_param("token_budget", 960,
                   "ranked pages each step must have resident: tokens, a fraction of the prompt (< 1) or \"P%\"; "
                   "pages = max(1, ceil(tokens / page_size)) (the study's token_budget; 960 = the reference's "
                   "page_topks 32 less 1 sink and 1 window page)",
                   "selected"),
      {"cache_pages", ParamType::kInt, 128,
       "device page cache per sparse layer, in pages (the reference's page_budgets); 0: sink + window + ranked "
       "pages (the study's page_budgets = page_topks + 1)",
       0.0},
      {"page_size", ParamType::kInt, 32, "tokens per page (one cuboid digest each)", 1.0},
      with_budget_role({"sink_pages", ParamType::kInt, 1, "first pages always resident (the prefill keeps max(2, n))", 0.0},
                       "sink"),
      with_budget_role({"window_pages", ParamType::kInt, 2,
                        "last prompt pages always resident, the partial last page included", 1.0},
                       "local"),
      {"dense_layers", ParamType::kInt, 2, "first layers that keep every token (n_unlimited_layers)", 0.0},
      {"digest", ParamType::kString, "cuboid_mean",
       "page digest: cuboid_mean (center +- mean distance, the reference) or cuboid (element-wise max / min)",
       std::nullopt, std::nullopt, {"cuboid_mean", "cuboid"}},
      {"ranking", ParamType::kString, "layer",
       "layer: scores averaged over all query heads, one page set per layer (the reference's n_groups 1); "
       "kv_head: averaged over each KV head's query heads, one page set per KV head (the study's group_size 1)",
       std::nullopt, std::nullopt, {"layer", "kv_head"}},
  };
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "arkvale",
    "ArkVale: pages of 32 with cuboid digests; a device page cache recalls the top-ranked pages from a pinned "
    "host backup",
    arkvale_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new ArkVale(p)); },
    {{"budget_params", {"token_budget"}}, {"shared_prefill", {{"uses", {"query"}}}}}});

}  // namespace kvbench
