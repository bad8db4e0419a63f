// SPDX-License-Identifier: Apache-2.0
// Storage shared by the two YAKV variants (methods/yakv.cpp, methods/yakv_gpu.cpp): per-token rows
// of all KV heads concatenated (row = [Hkv * d], token-major, as in the reference), kept either as
// HIGGS codes + scales or as plain rows, on the device or in host memory; the landmark store
// (HIGGS, optional residual quantization, ../shared/docs/methods.md 1.7); the selection rules; and
// YakvMethod, the accounting and stats both variants share.
#pragma once

#include "harness/kv/higgs.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/method.h"
#include "harness/kv/placement.h"
#include "harness/kv/transfer.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace kvbench {

// Smallest power of two >= v (the Hadamard group that covers a whole row of v channels).
int64_t yakv_pow2_ceil(int64_t v);

// Token rows [n, C]: HIGGS codes/scales (quantizer given) or the rows in `dtype`; placed per
// `placement` (host placements are read through HostToDevice, whose counter then holds the bytes).
class YakvRowStore {
 public:
  // rows [n, C] on the compute device. `quantizer` may be null (plain rows, stored in `dtype`).
  void build(const at::Tensor& rows, const HiggsQuantizer* quantizer, at::ScalarType dtype,
             KVPlacement placement, const at::Device& device);
  // Rows at sorted unique positions [u] int64 (compute device) -> [u, C] in `out_dtype` on the
  // compute device. Host-resident rows go through `h2d` (one gather per stored tensor).
  at::Tensor fetch(const at::Tensor& positions, HostToDevice& h2d, at::ScalarType out_dtype) const;
  int64_t nbytes() const;
  bool on_host() const { return placement_ != KVPlacement::kDevice; }
  bool defined() const { return rows_ > 0; }
  void clear();

 private:
  const HiggsQuantizer* quantizer_ = nullptr;
  KVPlacement placement_ = KVPlacement::kDevice;
  at::Device device_ = at::kCPU;
  int64_t rows_ = 0, channels_ = 0;
  KVBuffer data_;    // codes uint8 [n, C_pad/D] or rows [n, C]
  KVBuffer scales_;  // float32 [n, C_pad/g] (quantized only)
};

// Landmarks of one layer: one row [C] per token (post-RoPE keys of all KV heads), HIGGS-quantized
// (or exact when `quantizer` is null), on the compute device. With a residual quantizer the rows
// are meta-landmarks (means of `meta_chunk` consecutive rows, quantized) + quantized residuals.
// `bf16_scales` keeps the scales in bfloat16 (the GPU variant's layout).
class YakvLandmarks {
 public:
  void build(const at::Tensor& rows, const HiggsQuantizer* quantizer, const HiggsQuantizer* residual,
             int64_t meta_chunk, bool bf16_scales, at::ScalarType dtype);
  // [n, C] in `dtype` on the compute device.
  at::Tensor dequantize(at::ScalarType dtype) const;
  int64_t count() const { return count_; }
  int64_t nbytes() const;
  void clear();

 private:
  at::Tensor dequantize_codes(const HiggsQuantizer& quantizer, const HiggsCodes& codes) const;
  const HiggsQuantizer* quantizer_ = nullptr;
  const HiggsQuantizer* residual_quantizer_ = nullptr;
  int64_t meta_chunk_ = 1, count_ = 0;
  HiggsCodes main_, residual_;  // scales stored as float32 or bfloat16
  at::Tensor exact_;            // [n, C] when not quantized
};

// Test access to what a YAKV method selected: the prompt positions chosen at layer `layer`'s last
// decode step, [Hkv, k] int64, ascending per head (undefined before the first decode step).
class YakvSelectionProbe {
 public:
  virtual ~YakvSelectionProbe() = default;
  virtual at::Tensor last_selection(int64_t layer) const = 0;
};

// What the two YAKV variants share around their storage: the counters (KVCounters), the selection
// of each layer's last decode step (YakvSelectionProbe), the decode-step count, and memory() /
// stats() assembled from what the variant reports (resident bytes, layer budgets, its own stats).
class YakvMethod : public KVMethod, public YakvSelectionProbe {
 public:
  KVMemory memory() const final;
  nlohmann::json stats() const final;  // variant_stats() plus "decode_steps"
  at::Tensor last_selection(int64_t layer) const final { return selections_.at(static_cast<size_t>(layer)); }

 protected:
  // Clears the counters, the selections (one per layer) and the step count.
  void reset_common(int64_t num_layers);
  // Called by the variant at the end of layer `layer`'s decode step.
  void end_decode_step(int64_t layer, double tokens_attended);
  virtual KVResidentBytes resident() const = 0;
  virtual std::vector<LayerBudget> layer_budgets() const = 0;  // compressed layers only
  virtual nlohmann::json variant_stats() const = 0;

  KVCounters counters_;
  std::vector<at::Tensor> selections_;  // per layer [Hkv, k] positions of its last decode step

 private:
  int64_t steps_ = 0;
};

// Selection rules, one KV head at a time (the dense definitions the methods and tests share):
// accuracy variant (methods.md 1.5): for each query head softmax_t(q_h . L_t * scale) in float32,
// rounded to `score_dtype` (the reference rounds to the model dtype), max over the G heads of the
// group -> [Hkv, n]. GPU variant (1.6): the mean of the G query heads (in q's dtype), raw dot
// products with the landmarks -> [Hkv, n].
// q [Hq, d]; landmarks [n, Hkv, d] (same dtype as q).
at::Tensor yakv_scores_softmax_max(const at::Tensor& q, const at::Tensor& landmarks, double scale,
                                   at::ScalarType score_dtype);
at::Tensor yakv_scores_mean_query(const at::Tensor& q, const at::Tensor& landmarks);
// Top-k per row of scores [H, n] -> indices [H, k] int64 in ascending index order. Ties: ranked by
// (score descending, index ascending), so the lowest indices win (topk_per_head, harness/kv/ops.h;
// scores are compared in float32).
at::Tensor yakv_topk(const at::Tensor& scores, int64_t k);

}  // namespace kvbench
