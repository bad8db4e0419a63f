// SPDX-License-Identifier: Apache-2.0
// YAKV row stores, landmark store and selection rules (methods/yakv_stores.h).
#include "methods/yakv_stores.h"

#include "harness/error.h"
#include "harness/kv/ops.h"

#include <utility>

namespace kvbench {

// ---------------------------------------------------------------------------------------------
// YakvMethod

KVMemory YakvMethod::memory() const {
  KVMemory m = counters_.memory(resident());
  m.layer_budgets = layer_budgets();
  return m;
}

nlohmann::json YakvMethod::stats() const {
  nlohmann::json s = variant_stats();
  s["decode_steps"] = steps_;
  return s;
}

void YakvMethod::reset_common(int64_t num_layers) {
  counters_.reset();
  selections_.assign(static_cast<size_t>(num_layers), at::Tensor());
  steps_ = 0;
}

void YakvMethod::end_decode_step(int64_t layer, double tokens_attended) {
  if (layer != 0) return;
  counters_.set_tokens_attended(tokens_attended);
  ++steps_;
}

int64_t yakv_pow2_ceil(int64_t v) {
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

// ---------------------------------------------------------------------------------------------
// YakvRowStore

void YakvRowStore::build(const at::Tensor& rows, const HiggsQuantizer* quantizer, at::ScalarType dtype,
                         KVPlacement placement, const at::Device& device) {
  KVBENCH_ASSERT(rows.dim() == 2, "row store expects [n, C], got ", rows.sizes());
  clear();
  quantizer_ = quantizer;
  placement_ = placement;
  device_ = device;
  rows_ = rows.size(0);
  channels_ = rows.size(1);
  auto place = [&](const at::Tensor& t) {
    KVBuffer buffer = allocate_kv_buffer(t.sizes(), t.scalar_type(), placement, device);
    buffer.host_or_device.copy_(t);
    return buffer;
  };
  if (quantizer_ != nullptr) {
    HiggsCodes q = quantizer_->quantize(rows);
    data_ = place(q.codes);
    scales_ = place(q.scales);
  } else {
    data_ = place(rows.to(dtype));
  }
}

at::Tensor YakvRowStore::fetch(const at::Tensor& positions, HostToDevice& h2d, at::ScalarType out_dtype) const {
  KVBENCH_ASSERT(positions.dim() == 1, "row store fetch expects 1-D positions");
  auto take = [&](const KVBuffer& buffer) {
    const at::Tensor& src = buffer.host_or_device;
    if (!buffer.on_host()) return src.index_select(0, positions);
    auto sizes = src.sizes().vec();
    sizes[0] = positions.numel();
    at::Tensor dst = at::empty(sizes, src.options().device(device_));
    h2d.gather(src, 0, positions, dst);
    return dst;
  };
  at::Tensor data = take(data_);
  at::Tensor scales = quantizer_ != nullptr ? take(scales_) : at::Tensor();
  if (on_host()) h2d.wait();
  if (quantizer_ == nullptr) return data.to(out_dtype);
  return quantizer_->dequantize(HiggsCodes{data, scales, channels_}).to(out_dtype);
}

int64_t YakvRowStore::nbytes() const { return data_.bytes() + scales_.bytes(); }

void YakvRowStore::clear() {
  data_ = KVBuffer{};
  scales_ = KVBuffer{};
  rows_ = channels_ = 0;
}

// ---------------------------------------------------------------------------------------------
// YakvLandmarks

namespace {

HiggsCodes quantize_rows(const HiggsQuantizer& quantizer, const at::Tensor& rows, bool bf16_scales) {
  HiggsCodes q = quantizer.quantize(rows);
  if (bf16_scales) q.scales = q.scales.to(at::kBFloat16);
  return q;
}

}  // namespace

void YakvLandmarks::build(const at::Tensor& rows, const HiggsQuantizer* quantizer, const HiggsQuantizer* residual,
                          int64_t meta_chunk, bool bf16_scales, at::ScalarType dtype) {
  KVBENCH_ASSERT(rows.dim() == 2, "landmarks expect [n, C], got ", rows.sizes());
  clear();
  quantizer_ = quantizer;
  residual_quantizer_ = residual;
  meta_chunk_ = residual != nullptr ? meta_chunk : 1;
  count_ = rows.size(0);
  if (quantizer_ == nullptr) {
    exact_ = rows.to(dtype).contiguous();
    return;
  }
  if (residual_quantizer_ == nullptr) {
    main_ = quantize_rows(*quantizer_, rows, bf16_scales);
    return;
  }
  // Residual path (methods.md 1.7): pad to a multiple of meta_chunk by repeating the last row,
  // meta = mean of each group (quantized with the main grid), residual = row - meta (quantized
  // with the residual grid); dequantized landmark = meta + residual, padding cropped.
  at::Tensor padded = rows.to(at::kFloat);
  const int64_t extra = (meta_chunk_ - count_ % meta_chunk_) % meta_chunk_;
  if (count_ > 0 && extra > 0) padded = at::cat({padded, padded.narrow(0, count_ - 1, 1).expand({extra, -1})}, 0);
  const int64_t groups = padded.size(0) / meta_chunk_;
  at::Tensor meta = padded.view({groups, meta_chunk_, -1}).mean(1);
  main_ = quantize_rows(*quantizer_, meta, bf16_scales);
  at::Tensor meta_hat = dequantize_codes(*quantizer_, main_).repeat_interleave(meta_chunk_, 0);
  residual_ = quantize_rows(*residual_quantizer_, padded - meta_hat, bf16_scales);
}

at::Tensor YakvLandmarks::dequantize_codes(const HiggsQuantizer& quantizer, const HiggsCodes& codes) const {
  HiggsCodes q = codes;
  q.scales = q.scales.to(at::kFloat);
  return quantizer.dequantize(q);
}

at::Tensor YakvLandmarks::dequantize(at::ScalarType dtype) const {
  if (quantizer_ == nullptr) return exact_.to(dtype);
  at::Tensor out = dequantize_codes(*quantizer_, main_);
  if (residual_quantizer_ != nullptr)
    out = (out.repeat_interleave(meta_chunk_, 0) + dequantize_codes(*residual_quantizer_, residual_)).narrow(0, 0, count_);
  return out.to(dtype);
}

int64_t YakvLandmarks::nbytes() const {
  if (quantizer_ == nullptr) return exact_.defined() ? static_cast<int64_t>(exact_.nbytes()) : 0;
  int64_t total = main_.codes.defined() ? main_.nbytes() : 0;
  if (residual_.codes.defined()) total += residual_.nbytes();
  return total;
}

void YakvLandmarks::clear() {
  main_ = HiggsCodes{};
  residual_ = HiggsCodes{};
  exact_ = at::Tensor();
  count_ = 0;
}

// ---------------------------------------------------------------------------------------------
// Selection rules

at::Tensor yakv_scores_softmax_max(const at::Tensor& q, const at::Tensor& landmarks, double scale,
                                   at::ScalarType score_dtype) {
  const int64_t hq = q.size(0), d = q.size(1), hkv = landmarks.size(1);
  at::Tensor qg = q.view({hkv, hq / hkv, d});                             // [Hkv, G, d]
  at::Tensor logits = at::matmul(qg, landmarks.permute({1, 2, 0})) * scale;  // [Hkv, G, n]
  at::Tensor probs = at::softmax(logits, -1, at::kFloat).to(score_dtype);
  return std::get<0>(probs.max(1));                                       // [Hkv, n]
}

at::Tensor yakv_scores_mean_query(const at::Tensor& q, const at::Tensor& landmarks) {
  const int64_t hq = q.size(0), d = q.size(1), hkv = landmarks.size(1);
  at::Tensor qbar = q.view({hkv, hq / hkv, d}).mean(1);                  // [Hkv, d]
  return at::matmul(landmarks.permute({1, 0, 2}), qbar.unsqueeze(-1)).squeeze(-1);  // [Hkv, n]
}

at::Tensor yakv_topk(const at::Tensor& scores, int64_t k) {
  KVBENCH_ASSERT(k >= 0 && k <= scores.size(-1), "top-k of ", k, " out of ", scores.size(-1));
  // harness/kv/ops.h: (score descending, index ascending) ranking, CUDA kernel on CUDA tensors.
  return topk_per_head(scores.to(at::kFloat).unsqueeze(0), k)[0];
}

}  // namespace kvbench
