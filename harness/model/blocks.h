// SPDX-License-Identifier: Apache-2.0
// Building blocks shared by the architectures: RMSNorm, the attention projections (optional q/k/v
// bias, optional per-head q/k RMSNorm), the SwiGLU MLP, the top-k routed MoE block, and the weight
// specs that go with them. Numerics follow transformers op by op (fp32 norm statistics, cast back
// before the weight multiply; fp32 router softmax) so bf16 runs round the same way.
#pragma once

#include "harness/model/architecture.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace kvbench {

struct AttentionLayout {
  bool qkv_bias = false;   // bias on q/k/v projections (Qwen2, Llama attention_bias)
  bool o_bias = false;     // bias on o_proj (Llama attention_bias)
  bool qk_norm = false;    // per-head RMSNorm of q and k before RoPE (Qwen3)
};

// Qwen3 attention (dense and MoE): per-head q/k RMSNorm, optional attention bias on q/k/v and o.
AttentionLayout qwen3_attention_layout(const ModelConfig& c);

// x [.., n] -> RMSNorm(x) * weight, statistics in fp32.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// Embedding, final norm and (unless tied) LM head.
std::vector<WeightSpec> model_weight_specs(const ModelConfig& c);
// input/post-attention norms and the attention projections of one layer.
std::vector<WeightSpec> attention_weight_specs(const ModelConfig& c, int64_t layer, const AttentionLayout& a);
// gate/up/down of a SwiGLU MLP at `prefix` ("model.layers.3.mlp") with the given widths.
std::vector<WeightSpec> swiglu_weight_specs(const std::string& prefix, int64_t hidden, int64_t inner, bool bias);
// Router + experts of a MoE layer.
std::vector<WeightSpec> moe_weight_specs(const ModelConfig& c, int64_t layer);

QkvProjection project_qkv(const ModelWeights& w, int64_t layer, const at::Tensor& x, const AttentionLayout& a);
// down(silu(gate(x)) * up(x)) with the weights at `prefix`.
at::Tensor swiglu_mlp(const ModelWeights& w, const std::string& prefix, const at::Tensor& x);
// Fuses each expert's gate and up projections into "<prefix>.experts.<e>.gate_up_proj.weight"
// [2*inner, hidden] (gate rows first), as transformers holds them, and drops the separate tensors.
void fuse_expert_gate_up(ModelWeights& w, int64_t layer);
// Top-k routed experts: softmax(router) in fp32, top-k, optional renormalization, weighted sum.
at::Tensor moe_block(const ModelWeights& w, int64_t layer, const at::Tensor& x);

}  // namespace kvbench
