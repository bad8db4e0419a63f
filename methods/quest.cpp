// SPDX-License-Identifier: Apache-2.0
// "quest" (Tang et al., ICML 2024; reference: mit-han-lab/Quest evaluation/quest_attention.py,
// scripts/passkey.sh, and its kernel path quest/models + quest/utils/controller.py): query-aware
// page selection over the full KV cache. The whole KV stays on the compute device; each sparse layer
// also keeps per-page element-wise min/max digests of its post-RoPE keys (methods/quest_pages.h).
// - Prefill is dense (exact causal attention over every prompt token so far); at the end of the
//   prompt the budget is resolved (token_budget: tokens, or a fraction of the prompt) and the page
//   digests of the prompt are built.
// - The first `dense_layers` layers always attend densely.
// - Decode, other layers: the new token is appended (its page digest updated), then with S cached
//   tokens in P = ceil(S / page_size) pages, each query head attends the k = max(min_pages,
//   floor(budget / page_size)) pages with the highest upper bound sum_j max(q_j max_j, q_j min_j);
//   when P <= k every page is attended (dense). The page holding the current token competes like any
//   other (quest_attention.py), or with keep_current_page is always attended and counted in k (the
//   CUDA kernel path, which scores the other pages only).
// Differences from the reference: quest_attention.py takes min(S, budget) // page_size pages, which
// drops one page when S < budget and S is not a page multiple (here every page is attended when
// P <= k); its torch.topk leaves ties unspecified (here the lower page index wins); the kernel path
// has no 3-page floor (here min_pages applies in both modes); digests are kept for sparse layers only.
// Storage per layer: keys/values [B, Hkv, capacity, d] (grown geometrically past the reset() hint);
// sparse layers: digests [B, Hkv, ceil(capacity / page_size), 2d] (page max | page min) in the compute
// dtype.
// Batches must not be padded (kvbench runs one sequence per sample; pages are aligned to slot 0).
#include "harness/kv/budget.h"
#include "harness/kv/attention.h"
#include "harness/kv/method.h"
#include "methods/quest_pages.h"

#include <algorithm>
#include <vector>

namespace kvbench {
namespace {

class Quest : public KVMethod {
 public:
  explicit Quest(const nlohmann::json& params)
      : budget_(TokenBudget::parse(params["token_budget"], "method.params.token_budget")),
        page_size_(params["page_size"].get<int64_t>()),
        min_pages_(params["min_pages"].get<int64_t>()),
        dense_layers_(params["dense_layers"].get<int64_t>()),
        keep_current_page_(params["keep_current_page"].get<bool>()) {}

  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    model_ = model;
    batch_ = batch_size;
    hint_ = std::max<int64_t>(max_tokens, 1);
    layers_.assign(static_cast<size_t>(model.shape.num_layers), Layer{});
    prompt_tokens_ = 0;
    budget_tokens_ = 0;
    pages_per_head_ = 0;
    transient_bytes_ = 0;
    peak_device_bytes_ = 0;
    sparse_layer_steps_ = 0;
    dense_layer_steps_ = 0;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "quest: padded batches are not supported");
    Layer& layer = layers_.at(static_cast<size_t>(call.layer));
    const int64_t t = call.key.size(2);
    KVBENCH_ASSERT(call.slot_offset == layer.length, "quest: layer ", call.layer, " expected slot ",
                   layer.length, ", got ", call.slot_offset);
    const bool sparse_layer = call.layer >= dense_layers_;
    reserve(layer, call, layer.length + t, sparse_layer);
    layer.keys.narrow(2, layer.length, t).copy_(call.key);
    layer.values.narrow(2, layer.length, t).copy_(call.value);
    layer.length += t;
    const int64_t s = layer.length;
    at::Tensor keys = layer.keys.narrow(2, 0, s), values = layer.values.narrow(2, 0, s);
    layer.selected = at::Tensor();
    transient_bytes_ = 0;

    at::Tensor out;
    if (call.phase == AttentionPhase::kPrefill) {
      out = exact_attention(call.query, keys, values, call.slot_offset, at::Tensor(), call.scale);
      if (call.last_prefill_chunk) {
        prompt_tokens_ = s;
        budget_tokens_ = budget_.resolve(s, /*clamp_to_prompt=*/false);
        pages_per_head_ = std::max(min_pages_, budget_tokens_ / page_size_);
        if (sparse_layer) {
          at::Tensor digests = quest_page_digests(keys, page_size_);
          layer.digests.narrow(2, 0, digests.size(2)).copy_(digests);
        }
      }
    } else {
      KVBENCH_CHECK(t == 1, "quest: a decode step must bring one token per sequence, got ", t);
      const int64_t pages = (s + page_size_ - 1) / page_size_;
      if (sparse_layer) quest_update_digest(layer.digests, call.key, s - 1, page_size_);
      if (!sparse_layer || pages <= pages_per_head_) {
        out = exact_attention(call.query, keys, values, call.slot_offset, at::Tensor(), call.scale);
        ++dense_layer_steps_;
      } else {
        at::Tensor scores = quest_page_scores(call.query.select(2, 0), layer.digests.narrow(2, 0, pages));
        layer.selected = quest_select_pages(scores, pages_per_head_, keep_current_page_);
        out = quest_attend_pages(call.query, keys, values, layer.selected, page_size_, call.scale,
                                 &transient_bytes_);
        ++sparse_layer_steps_;
      }
    }
    peak_device_bytes_ = std::max(peak_device_bytes_, device_bytes().total() + transient_bytes_);
    return out;
  }

  KVMemory memory() const override {
    KVMemory m;
    const Bytes bytes = device_bytes();
    m.kv_device_bytes = bytes.kv;
    m.metadata_device_bytes = bytes.metadata;
    m.device_bytes = bytes.total();
    m.transient_device_bytes = transient_bytes_;
    m.peak_device_bytes = peak_device_bytes_;
    // Per layer: whole tokens by role; tokens_attended: the exact mean over layers and query heads.
    double attended = 0;
    for (const Layer& layer : layers_) {
      m.layer_budgets.push_back(layer_budget(layer));
      attended += tokens_attended(layer);
    }
    m.tokens_attended = layers_.empty() ? 0.0 : attended / static_cast<double>(layers_.size());
    return m;
  }

  nlohmann::json stats() const override {
    double rows_read = 0;
    int64_t sparse = 0;
    for (const Layer& layer : layers_) {
      if (!layer.selected.defined()) continue;
      rows_read += rows_per_kv_head(layer);
      ++sparse;
    }
    return {{"token_budget", budget_.describe()},
            {"budget_tokens", budget_tokens_},
            {"pages_per_head", pages_per_head_},
            {"page_size", page_size_},
            {"dense_layers", dense_layers_},
            {"sparse_layer_steps", sparse_layer_steps_},
            {"dense_layer_steps", dense_layer_steps_},
            // Last decode step, mean over sparse layers: distinct KV rows a KV head supplies to the
            // union of its query heads' pages (what a gather reads), vs tokens_attended per query head.
            {"kv_rows_read_per_kv_head", sparse > 0 ? rows_read / static_cast<double>(sparse) : 0.0}};
  }

 private:
  struct Layer {
    at::Tensor keys;      // [B, Hkv, capacity, d] post-RoPE
    at::Tensor values;    // [B, Hkv, capacity, d]
    at::Tensor digests;   // [B, Hkv, page capacity, 2d] page max | page min, sparse layers only
    int64_t length = 0;   // slots filled
    at::Tensor selected;  // [B, Hq, k] pages of the last call when it was a sparse decode step
  };
  struct Bytes {
    int64_t kv = 0;
    int64_t metadata = 0;
    int64_t total() const { return kv + metadata; }
  };

  void reserve(Layer& layer, const AttentionCall& call, int64_t needed, bool with_digests) {
    const int64_t capacity = layer.keys.defined() ? layer.keys.size(2) : 0;
    if (needed <= capacity) return;
    const int64_t grown = capacity == 0 ? std::max(hint_, needed) : std::max(needed, capacity * 2);
    auto grow = [&](const at::Tensor& old, int64_t size, int64_t keep, int64_t channels) {
      auto sizes = call.key.sizes().vec();
      sizes[2] = size;
      sizes[3] = channels;
      at::Tensor fresh = at::empty(sizes, call.key.options());
      if (keep > 0) fresh.narrow(2, 0, keep).copy_(old.narrow(2, 0, keep));
      return fresh;
    };
    const int64_t d = call.key.size(3);
    layer.keys = grow(layer.keys, grown, layer.length, d);
    layer.values = grow(layer.values, grown, layer.length, d);
    if (with_digests) {
      const int64_t pages = (grown + page_size_ - 1) / page_size_;
      const int64_t filled = (layer.length + page_size_ - 1) / page_size_;
      layer.digests = grow(layer.digests, pages, filled, 2 * d);
    }
  }

  // Tokens each query head of this layer attended at its last call (mean over heads and sequences).
  double tokens_attended(const Layer& layer) const {
    if (!layer.selected.defined()) return static_cast<double>(layer.length);
    const int64_t pages = (layer.length + page_size_ - 1) / page_size_;
    const int64_t missing = pages * page_size_ - layer.length;  // rows absent from the last page
    const double with_last = (layer.selected == pages - 1).any(-1).to(at::kDouble).mean().item<double>();
    return static_cast<double>(layer.selected.size(2) * page_size_) - with_last * static_cast<double>(missing);
  }

  // Distinct rows per KV head over its query heads' selected pages (mean over KV heads, sequences).
  double rows_per_kv_head(const Layer& layer) const {
    const int64_t pages = (layer.length + page_size_ - 1) / page_size_;
    const int64_t b = layer.selected.size(0), hq = layer.selected.size(1), hkv = layer.keys.size(1);
    at::Tensor hit = at::zeros({b, hq, pages}, layer.selected.options().dtype(at::kBool));
    hit.scatter_(2, layer.selected, true);
    at::Tensor per_kv = hit.reshape({b, hkv, hq / hkv, pages}).any(2);  // [B, Hkv, P]
    const double missing = static_cast<double>(pages * page_size_ - layer.length);  // absent from the last page
    at::Tensor rows = per_kv.sum(-1).to(at::kDouble) * static_cast<double>(page_size_) -
                      per_kv.select(-1, pages - 1).to(at::kDouble) * missing;
    return rows.mean().item<double>();
  }

  // Resolved roles per layer: a dense call attends the whole prompt exactly (reported as `local`)
  // plus the generated tokens; a sparse decode step attends only pages chosen by the score
  // (`selected`, mean over query heads, rounded to whole tokens).
  LayerBudget layer_budget(const Layer& layer) const {
    LayerBudget budget;
    if (layer.selected.defined()) {
      budget.selected = static_cast<int64_t>(tokens_attended(layer) + 0.5);
    } else {
      budget.local = std::min(prompt_tokens_, layer.length);
      budget.generated = layer.length - budget.local;
    }
    return budget;
  }

  Bytes device_bytes() const {
    Bytes bytes;
    for (const Layer& l : layers_) {
      for (const at::Tensor* t : {&l.keys, &l.values})
        if (t->defined()) bytes.kv += static_cast<int64_t>(t->nbytes());
      if (l.digests.defined()) bytes.metadata += static_cast<int64_t>(l.digests.nbytes());
    }
    return bytes;
  }

  TokenBudget budget_;
  int64_t page_size_;
  int64_t min_pages_;
  int64_t dense_layers_;
  bool keep_current_page_;
  ModelView model_;
  int64_t batch_ = 1;
  int64_t hint_ = 1;
  std::vector<Layer> layers_;
  int64_t prompt_tokens_ = 0;
  int64_t budget_tokens_ = 0;    // resolved at the end of prefill
  int64_t pages_per_head_ = 0;   // k
  int64_t transient_bytes_ = 0;  // gathered K/V rows of the last call
  int64_t peak_device_bytes_ = 0;
  int64_t sparse_layer_steps_ = 0;
  int64_t dense_layer_steps_ = 0;
};

ParamSpecs quest_params() {
  ParamSpec budget = budget_param("token_budget", 2048,
                                  "tokens attended per query head per step: tokens, a fraction of the prompt "
                                  "(< 1) or \"P%\"",
                                  "selected");
  ParamSpec page{"page_size", ParamType::kInt, 16, "tokens per page (one min/max digest per page)", 1.0};
  ParamSpec min_pages{"min_pages", ParamType::kInt, 3, "pages attended at least, whatever the budget", 1.0};
  ParamSpec dense{"dense_layers", ParamType::kInt, 2, "first layers that always attend densely", 0.0};
  ParamSpec keep{"keep_current_page", ParamType::kBool, false,
                 "always attend the page holding the current token (Quest's CUDA kernels) instead of "
                 "scoring it with the others (quest_attention.py)"};
  return {budget, page, min_pages, dense, keep};
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "quest",
    "Quest: pages of 16 with min/max key digests; each query head attends its top pages by upper bound",
    quest_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new Quest(p)); },
    {{"budget_params", {"token_budget"}}}});

}  // namespace kvbench
