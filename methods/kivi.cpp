// SPDX-License-Identifier: Apache-2.0
// "kivi" (Liu et al., ICML 2024, "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache";
// reference jy-yuan/KIVI models/llama_kivi.py LlamaFlashAttention_KIVI, quant/new_pack.py): keys
// quantized per channel in groups of `group_size` tokens, values per token in groups of
// `group_size` channels (harness/kv/kivi_quant.h), the most recent tokens kept in full precision.
// Per layer, after the attention of a call (the new tokens attend their own rows exactly):
// - keys: when the full-precision key residual holds >= residual_length rows, its oldest
//   floor(rows / residual_length) * residual_length rows are quantized (decode: the residual is
//   quantized whole when it reaches residual_length; prompt: every whole multiple, the remainder
//   stays full precision);
// - values: the residual keeps the newest residual_length rows, older ones are quantized one token
//   at a time (the prompt's older rows at once).
// Prefill is exact, as in the reference (which attends the prompt with flash attention before
// quantizing): chunks of one prompt attend each other in full precision, and the cache is quantized
// at the end of the prompt. Decode attends the dequantized rows plus the residual
// (harness/kv/kivi_attention.h: LibTorch reference on the CPU, a CUDA kernel on a GPU).
// 16 bits on a side: that side is never quantized (the full cache, used for tests and ablations).
// Storage per layer (KVSlotStores, all bytes counted as K/V rows):
//   key groups  [B, Hkv, groups, d * g * key_bits / 32] int32 + scale, zero [B, Hkv, groups, d]
//   value rows  [B, Hkv, n, d * value_bits / 32] int32 + scale, zero [B, Hkv, n, d / g]
//   residuals   keys, values [B, Hkv, rows, d] in the compute dtype
// Quantized stores grow exactly (bytes = rows held). The residuals keep a fixed capacity after the
// prompt: residual_length key rows and residual_length + 1 value rows (the new token before the
// oldest is quantized); kv_formula::kivi_kv_bytes (harness/kv/memory_formulas.h) is the total.
// Batches must not be padded (pad rows would enter the per-channel key groups).
// Layer budgets: KIVI attends every token, so as for `full` the prompt tokens are `local` and the
// generated ones `generated`; how many rows are quantized is in stats().
#include "harness/error.h"
#include "harness/kv/budget.h"
#include "harness/kv/kivi_attention.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/method.h"
#include "harness/kv/slot_store.h"

#include <algorithm>
#include <vector>

namespace kvbench {
namespace {

constexpr int64_t kUnquantized = 16;

void check_bits(int64_t bits, const char* key) {
  KVBENCH_CHECK_CONFIG(bits == 2 || bits == 4 || bits == 8 || bits == kUnquantized, "method.params.", key,
                       ": KIVI quantizes to 2, 4 or 8 bits (16: not quantized), got ", bits);
}

class Kivi : public KVMethod {
 public:
  explicit Kivi(const nlohmann::json& params)
      : key_bits_(params["key_bits"].get<int64_t>()),
        value_bits_(params["value_bits"].get<int64_t>()),
        group_(params["group_size"].get<int64_t>()),
        residual_(params["residual_length"].get<int64_t>()) {
    check_bits(key_bits_, "key_bits");
    check_bits(value_bits_, "value_bits");
    for (int64_t bits : {key_bits_, value_bits_})
      KVBENCH_CHECK_CONFIG(bits == kUnquantized || group_ % (32 / bits) == 0, "method.params.group_size: ", group_,
                           " must be a multiple of 32 / bits = ", 32 / bits, " (whole int32 words of codes)");
    KVBENCH_CHECK_CONFIG(residual_ % group_ == 0, "method.params.residual_length: ", residual_,
                         " must be a multiple of group_size (", group_, "): keys are quantized in whole groups");
  }

  void reset(const ModelView& model, int64_t batch_size, int64_t max_tokens) override {
    const int64_t d = model.shape.head_dim;
    KVBENCH_CHECK_CONFIG(value_bits_ == kUnquantized || d % group_ == 0, "method.params.group_size: ", group_,
                         " must divide the model's head_dim (", d, "): values are quantized in channel groups");
    const int64_t layers = model.shape.num_layers;
    KVSlotStore::Layout key_groups{{{"key_codes"}, {"key_scale"}, {"key_zero"}}, KVPlacement::kDevice,
                                   SlotGrowth::kExact};
    KVSlotStore::Layout value_rows{{{"value_codes"}, {"value_scale"}, {"value_zero"}}, KVPlacement::kDevice,
                                   SlotGrowth::kExact};
    // A never-quantized side holds every row: geometric growth from the run's hint, as `full`.
    auto residual_layout = [](const char* name, int64_t bits) {
      return KVSlotStore::Layout{{{name}}, KVPlacement::kDevice,
                                 bits == kUnquantized ? SlotGrowth::kGeometric : SlotGrowth::kExact};
    };
    key_quantized_.reset(layers, max_tokens / group_, key_groups);
    value_quantized_.reset(layers, max_tokens, value_rows);
    key_residual_.reset(layers, max_tokens, residual_layout("keys", key_bits_));
    value_residual_.reset(layers, max_tokens, residual_layout("values", value_bits_));
    prompt_tokens_.assign(static_cast<size_t>(layers), 0);
    counters_.reset();
  }

  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(!call.batch_has_padding, "kivi: padded batches are not supported");
    const int64_t l = call.layer;
    const int64_t t = call.key.size(2);
    KVBENCH_ASSERT(call.slot_offset == rows(l), "kivi: layer ", l, " expected slot ", rows(l), ", got ",
                   call.slot_offset);
    key_residual_.append(l, {call.key});
    value_residual_.append(l, {call.value});
    const int64_t n = rows(l);
    if (call.phase == AttentionPhase::kPrefill) prompt_tokens_.at(static_cast<size_t>(l)) = n;
    if (l == 0) counters_.set_tokens_attended(static_cast<double>(n));
    at::Tensor out = kivi_attention(call.query, view(l), n - t, call.scale);
    if (call.phase == AttentionPhase::kDecode || call.last_prefill_chunk) {
      counters_.observe(bytes());  // the full-precision rows before they are quantized
      quantize_old_rows(l);
    }
    counters_.observe(bytes());
    return out;
  }

  KVMemory memory() const override {
    KVMemory m = counters_.memory(bytes());
    if (prompt_tokens_.empty() || rows(0) == 0) return m;
    for (int64_t l = 0; l < key_residual_.num_layers(); ++l) {
      LayerBudget b;
      b.local = prompt_tokens_[static_cast<size_t>(l)];
      b.generated = rows(l) - b.local;
      m.layer_budgets.push_back(b);
    }
    return m;
  }

  nlohmann::json stats() const override {
    int64_t quantized_keys = 0, quantized_values = 0, layers = key_residual_.num_layers();
    for (int64_t l = 0; l < layers; ++l) {
      quantized_keys += key_quantized_.length(l) * group_;
      quantized_values += value_quantized_.length(l);
    }
    const double per_layer = layers > 0 ? 1.0 / static_cast<double>(layers) : 0.0;
    return {{"key_bits", key_bits_},
            {"value_bits", value_bits_},
            {"group_size", group_},
            {"residual_length", residual_},
            {"quantized_key_rows", static_cast<double>(quantized_keys) * per_layer},
            {"quantized_value_rows", static_cast<double>(quantized_values) * per_layer}};
  }

 private:
  enum Field : size_t { kCodes, kScale, kZero };

  int64_t rows(int64_t l) const { return key_quantized_.length(l) * group_ + key_residual_.length(l); }

  KiviCacheView view(int64_t l) const {
    KiviCacheView v;
    if (key_quantized_.length(l) > 0)
      v.keys = {key_quantized_.filled(l, kCodes), key_quantized_.filled(l, kScale), key_quantized_.filled(l, kZero)};
    if (value_quantized_.length(l) > 0)
      v.values = {value_quantized_.filled(l, kCodes), value_quantized_.filled(l, kScale),
                  value_quantized_.filled(l, kZero)};
    v.key_residual = key_residual_.filled(l, 0);
    v.value_residual = value_residual_.filled(l, 0);
    v.group = group_;
    v.key_bits = key_bits_;
    v.value_bits = value_bits_;
    return v;
  }

  // The flush rule of the header comment; then the residuals shrink to their fixed capacity.
  void quantize_old_rows(int64_t l) {
    if (key_bits_ != kUnquantized) {
      const int64_t held = key_residual_.length(l);
      const int64_t old = held / residual_ * residual_;
      if (old > 0) {
        KiviQuantized q =
            kivi_quantize_keys(key_residual_.filled(l, 0).narrow(2, 0, old).contiguous(), group_, key_bits_);
        key_quantized_.append(l, {q.codes, q.scale, q.zero});
        key_residual_.keep_ranges(l, {{old, held - old}});
      }
      key_residual_.set_capacity(l, std::max(key_residual_.length(l), residual_));
    }
    if (value_bits_ != kUnquantized) {
      const int64_t held = value_residual_.length(l);
      const int64_t old = std::max<int64_t>(0, held - residual_);
      if (old > 0) {
        KiviQuantized q =
            kivi_quantize_values(value_residual_.filled(l, 0).narrow(2, 0, old).contiguous(), group_, value_bits_);
        value_quantized_.append(l, {q.codes, q.scale, q.zero});
        value_residual_.keep_ranges(l, {{old, held - old}});
      }
      value_residual_.set_capacity(l, std::max(value_residual_.length(l), residual_ + 1));
    }
  }

  KVResidentBytes bytes() const {
    KVResidentBytes b;
    for (const KVSlotStore* store : {&key_quantized_, &value_quantized_, &key_residual_, &value_residual_})
      store->add_bytes(b);
    return b;
  }

  int64_t key_bits_, value_bits_, group_, residual_;
  KVSlotStore key_quantized_;    // slot = a group of group_ tokens
  KVSlotStore value_quantized_;  // slot = a token
  KVSlotStore key_residual_;     // full-precision keys [B, Hkv, rows, d]
  KVSlotStore value_residual_;   // full-precision values [B, Hkv, rows, d]
  std::vector<int64_t> prompt_tokens_;  // per layer
  KVCounters counters_;
};

ParamSpecs kivi_params() {
  ParamSpec key_bits{"key_bits", ParamType::kInt, 2, "bits per key code: 2, 4 or 8 (16: keys not quantized)", 2.0,
                     16.0};
  ParamSpec value_bits{"value_bits", ParamType::kInt, 2,
                       "bits per value code: 2, 4 or 8 (16: values not quantized)", 2.0, 16.0};
  ParamSpec group{"group_size", ParamType::kInt, 32,
                  "tokens per key group (per channel) and channels per value group (per token)", 1.0};
  ParamSpec residual = with_budget_role(
      {"residual_length", ParamType::kInt, 32,
       "most recent tokens kept in full precision (a multiple of group_size; keys quantized in blocks of it)", 1.0},
      "local");
  return {key_bits, value_bits, group, residual};
}

}  // namespace

KVBENCH_REGISTER(KVMethod, RegistryEntry<KVMethod>{
    "kivi",
    "KIVI: asymmetric 2/4-bit KV quantization, keys per channel and values per token in groups, recent "
    "tokens in full precision",
    kivi_params(),
    [](const nlohmann::json& p) { return std::unique_ptr<KVMethod>(new Kivi(p)); },
    {{"budget_params", {"key_bits", "value_bits", "residual_length"}}}});

}  // namespace kvbench
