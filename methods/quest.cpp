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
// Storage per layer (KVSlotStores, harness/kv/slot_store.h): keys/values [B, Hkv, capacity, d]
// (grown geometrically past the reset() hint); sparse layers: digests [B, Hkv, ceil(capacity /
// page_size), 2d] (page max | page min) in the compute dtype, one slot per page.
// Batches must not be padded (kvbench runs one sequence per sample; pages are aligned to slot 0).
#include "harness/kv/budget.h"
#include "harness/kv/attention.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/method.h"
#include "harness/kv/slot_store.h"
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
    kv_.reset(model.shape.num_layers, max_tokens, KVSlotStore::Layout{});
    // One slot per page; its capacity follows the K/V capacity (set_capacity, exact).
    KVSlotStore::Layout pages;
    pages.fields = {{"digests", 2, KVByteRole::kMetadata}};
    digests_.reset(model.shape.num_layers, 1, pages);
    selected_.assign(static_cast<size_t>(model.shape.num_layers), at::Tensor());
    prompt_tokens_ = 0;
    budget_tokens_ = 0;
    pages_per_head_ = 0;
    counters_.reset();
    sparse_layer_steps_ = 0;
    dense_layer_steps_ = 0;
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "quest: padded batches are not supported");
    const int64_t l = call.layer;
    const int64_t t = call.key.size(2);
    KVBENCH_ASSERT(call.slot_offset == kv_.length(l), "quest: layer ", l, " expected slot ", kv_.length(l),
                   ", got ", call.slot_offset);
    const bool sparse_layer = l >= dense_layers_;
    kv_.append(l, {call.key, call.value});
    if (sparse_layer) {
      const int64_t d = call.key.size(3);
      at::Tensor like = at::empty({call.key.size(0), call.key.size(1), 0, 2 * d}, call.key.options());
      digests_.set_capacity(l, pages_of(kv_.capacity(l)), {like});
    }
    const int64_t s = kv_.length(l);
    at::Tensor keys = kv_.filled(l, 0), values = kv_.filled(l, 1);
    at::Tensor& selected = selected_.at(static_cast<size_t>(l));
    selected = at::Tensor();
    counters_.set_transient_bytes(0);

    at::Tensor out;
    if (call.phase == AttentionPhase::kPrefill) {
      if (call.output_wanted) out = exact_attention(call.query, keys, values, call.slot_offset, at::Tensor(), call.scale);
      if (call.last_prefill_chunk) {
        prompt_tokens_ = s;
        budget_tokens_ = budget_.resolve(s, /*clamp_to_prompt=*/false);
        pages_per_head_ = std::max(min_pages_, budget_tokens_ / page_size_);
        if (sparse_layer) {
          at::Tensor digests = quest_page_digests(keys, page_size_);
          digests_.set_length(l, digests.size(2));
          digests_.filled(l, 0).copy_(digests);
        }
      }
    } else {
      KVBENCH_CHECK(t == 1, "quest: a decode step must bring one token per sequence, got ", t);
      const int64_t pages = pages_of(s);
      if (sparse_layer) {
        at::Tensor digests = digests_.storage(l, 0);
        quest_update_digest(digests, call.key, s - 1, page_size_);
        digests_.set_length(l, pages);
      }
      if (!sparse_layer || pages <= pages_per_head_) {
        out = exact_attention(call.query, keys, values, call.slot_offset, at::Tensor(), call.scale);
        ++dense_layer_steps_;
      } else {
        at::Tensor scores = quest_page_scores(call.query.select(2, 0), digests_.filled(l, 0));
        selected = quest_select_pages(scores, pages_per_head_, keep_current_page_);
        int64_t gathered = 0;
        out = quest_attend_pages(call.query, keys, values, selected, page_size_, call.scale, &gathered);
        counters_.set_transient_bytes(gathered);
        ++sparse_layer_steps_;
      }
    }
    counters_.observe(resident());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(resident());
    // Per layer: whole tokens by role; tokens_attended: the exact mean over layers and query heads.
    double attended = 0;
    for (int64_t l = 0; l < kv_.num_layers(); ++l) {
      m.layer_budgets.push_back(layer_budget(l));
      attended += tokens_attended(l);
    }
    m.tokens_attended = kv_.num_layers() == 0 ? 0.0 : attended / static_cast<double>(kv_.num_layers());
    return m;
  }

  nlohmann::json stats() const override {
    double rows_read = 0;
    int64_t sparse = 0;
    for (int64_t l = 0; l < kv_.num_layers(); ++l) {
      if (!selected_[static_cast<size_t>(l)].defined()) continue;
      rows_read += rows_per_kv_head(l);
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
  int64_t pages_of(int64_t slots) const { return (slots + page_size_ - 1) / page_size_; }

  KVResidentBytes resident() const {
    KVResidentBytes bytes = kv_.bytes();
    digests_.add_bytes(bytes);
    return bytes;
  }

  // Tokens each query head of layer l attended at its last call (mean over heads and sequences).
  double tokens_attended(int64_t l) const {
    const at::Tensor& selected = selected_[static_cast<size_t>(l)];
    const int64_t length = kv_.length(l);
    if (!selected.defined()) return static_cast<double>(length);
    const int64_t pages = pages_of(length);
    const int64_t missing = pages * page_size_ - length;  // rows absent from the last page
    const double with_last = (selected == pages - 1).any(-1).to(at::kDouble).mean().item<double>();
    return static_cast<double>(selected.size(2) * page_size_) - with_last * static_cast<double>(missing);
  }

  // Distinct rows per KV head over its query heads' selected pages (mean over KV heads, sequences).
  double rows_per_kv_head(int64_t l) const {
    const at::Tensor& selected = selected_[static_cast<size_t>(l)];
    const int64_t length = kv_.length(l);
    const int64_t pages = pages_of(length);
    const int64_t b = selected.size(0), hq = selected.size(1), hkv = kv_.storage(l, 0).size(1);
    at::Tensor hit = at::zeros({b, hq, pages}, selected.options().dtype(at::kBool));
    hit.scatter_(2, selected, true);
    at::Tensor per_kv = hit.reshape({b, hkv, hq / hkv, pages}).any(2);  // [B, Hkv, P]
    const double missing = static_cast<double>(pages * page_size_ - length);  // absent from the last page
    at::Tensor rows = per_kv.sum(-1).to(at::kDouble) * static_cast<double>(page_size_) -
                      per_kv.select(-1, pages - 1).to(at::kDouble) * missing;
    return rows.mean().item<double>();
  }

  // Resolved roles per layer: a dense call attends the whole prompt exactly (reported as `local`)
  // plus the generated tokens; a sparse decode step attends only pages chosen by the score
  // (`selected`, mean over query heads, rounded to whole tokens).
  LayerBudget layer_budget(int64_t l) const {
    LayerBudget budget;
    if (selected_[static_cast<size_t>(l)].defined()) {
      budget.selected = static_cast<int64_t>(tokens_attended(l) + 0.5);
    } else {
      budget.local = std::min(prompt_tokens_, kv_.length(l));
      budget.generated = kv_.length(l) - budget.local;
    }
    return budget;
  }

  TokenBudget budget_;
  int64_t page_size_;
  int64_t min_pages_;
  int64_t dense_layers_;
  bool keep_current_page_;
  ModelView model_;
  int64_t batch_ = 1;
  KVSlotStore kv_;       // per layer keys, values [B, Hkv, capacity, d] post-RoPE
  KVSlotStore digests_;  // sparse layers: [B, Hkv, ceil(capacity / page_size), 2d] page max | page min
  std::vector<at::Tensor> selected_;  // per layer [B, Hq, k] pages of its last call if a sparse decode step
  int64_t prompt_tokens_ = 0;
  int64_t budget_tokens_ = 0;    // resolved at the end of prefill
  int64_t pages_per_head_ = 0;   // k
  KVCounters counters_;          // transient: the gathered K/V rows of the last call
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
    {{"budget_params", {"token_budget"}}, {"shared_prefill", {{"uses", nlohmann::json::array()}}}}});

}  // namespace kvbench
