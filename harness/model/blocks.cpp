// SPDX-License-Identifier: Apache-2.0
// Shared decoder building blocks (norms, projections, MLPs, MoE) and their weight specs.
#include "harness/model/blocks.h"

#include "harness/error.h"

namespace kvbench {
namespace {

at::Tensor linear(const ModelWeights& w, const std::string& prefix, const at::Tensor& x, bool bias) {
  const at::Tensor& weight = w.get(prefix + ".weight");
  if (bias) return at::linear(x, weight, w.get(prefix + ".bias"));
  return at::linear(x, weight);
}

}  // namespace

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor h = x.to(at::kFloat);
  at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * at::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

std::vector<WeightSpec> model_weight_specs(const ModelConfig& c) {
  std::vector<WeightSpec> specs = {
      {"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}},
      {"model.norm.weight", {c.hidden_size}},
  };
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}});
  return specs;
}

AttentionLayout qwen3_attention_layout(const ModelConfig& c) {
  AttentionLayout a;
  a.qkv_bias = c.attention_bias;
  a.o_bias = c.attention_bias;
  a.qk_norm = true;
  return a;
}

std::vector<WeightSpec> attention_weight_specs(const ModelConfig& c, int64_t layer, const AttentionLayout& a) {
  auto name = [&](const std::string& s) { return ModelWeights::layer_name(layer, s); };
  const int64_t q_out = c.num_heads * c.head_dim;
  const int64_t kv_out = c.num_kv_heads * c.head_dim;
  std::vector<WeightSpec> specs = {
      {name("input_layernorm.weight"), {c.hidden_size}},
      {name("post_attention_layernorm.weight"), {c.hidden_size}},
      {name("self_attn.q_proj.weight"), {q_out, c.hidden_size}},
      {name("self_attn.k_proj.weight"), {kv_out, c.hidden_size}},
      {name("self_attn.v_proj.weight"), {kv_out, c.hidden_size}},
      {name("self_attn.o_proj.weight"), {c.hidden_size, q_out}},
  };
  if (a.qkv_bias) {
    specs.push_back({name("self_attn.q_proj.bias"), {q_out}});
    specs.push_back({name("self_attn.k_proj.bias"), {kv_out}});
    specs.push_back({name("self_attn.v_proj.bias"), {kv_out}});
  }
  if (a.o_bias) specs.push_back({name("self_attn.o_proj.bias"), {c.hidden_size}});
  if (a.qk_norm) {
    specs.push_back({name("self_attn.q_norm.weight"), {c.head_dim}});
    specs.push_back({name("self_attn.k_norm.weight"), {c.head_dim}});
  }
  return specs;
}

std::vector<WeightSpec> swiglu_weight_specs(const std::string& prefix, int64_t hidden, int64_t inner, bool bias) {
  std::vector<WeightSpec> specs = {
      {prefix + ".gate_proj.weight", {inner, hidden}},
      {prefix + ".up_proj.weight", {inner, hidden}},
      {prefix + ".down_proj.weight", {hidden, inner}},
  };
  if (bias) {
    specs.push_back({prefix + ".gate_proj.bias", {inner}});
    specs.push_back({prefix + ".up_proj.bias", {inner}});
    specs.push_back({prefix + ".down_proj.bias", {hidden}});
  }
  return specs;
}

std::vector<WeightSpec> moe_weight_specs(const ModelConfig& c, int64_t layer) {
  const std::string prefix = ModelWeights::layer_name(layer, "mlp");
  std::vector<WeightSpec> specs = {{prefix + ".gate.weight", {c.num_experts, c.hidden_size}}};
  for (int64_t e = 0; e < c.num_experts; ++e) {
    auto expert = swiglu_weight_specs(prefix + ".experts." + std::to_string(e), c.hidden_size,
                                      c.moe_intermediate_size, false);
    specs.insert(specs.end(), expert.begin(), expert.end());
  }
  return specs;
}

QkvProjection project_qkv(const ModelWeights& w, int64_t layer, const at::Tensor& x, const AttentionLayout& a) {
  const ModelConfig& c = w.config();
  const std::string p = ModelWeights::layer_name(layer, "self_attn.");
  const int64_t b = x.size(0), t = x.size(1);
  QkvProjection out;
  out.q = linear(w, p + "q_proj", x, a.qkv_bias).view({b, t, c.num_heads, c.head_dim});
  out.k = linear(w, p + "k_proj", x, a.qkv_bias).view({b, t, c.num_kv_heads, c.head_dim});
  out.v = linear(w, p + "v_proj", x, a.qkv_bias).view({b, t, c.num_kv_heads, c.head_dim});
  if (a.qk_norm) {
    out.q = rms_norm(out.q, w.get(p + "q_norm.weight"), c.rms_norm_eps);
    out.k = rms_norm(out.k, w.get(p + "k_norm.weight"), c.rms_norm_eps);
  }
  return out;
}

at::Tensor swiglu_mlp(const ModelWeights& w, const std::string& prefix, const at::Tensor& x) {
  const bool bias = w.contains(prefix + ".gate_proj.bias");
  at::Tensor gate = linear(w, prefix + ".gate_proj", x, bias);
  at::Tensor up = linear(w, prefix + ".up_proj", x, bias);
  return linear(w, prefix + ".down_proj", at::silu(gate) * up, bias);
}

void fuse_expert_gate_up(ModelWeights& w, int64_t layer) {
  const ModelConfig& c = w.config();
  for (int64_t e = 0; e < c.num_experts; ++e) {
    const std::string p = ModelWeights::layer_name(layer, "mlp.experts." + std::to_string(e));
    at::Tensor fused = at::cat({w.get(p + ".gate_proj.weight"), w.get(p + ".up_proj.weight")}, 0);
    w.erase(p + ".gate_proj.weight");
    w.erase(p + ".up_proj.weight");
    w.set(p + ".gate_up_proj.weight", fused);
  }
}

at::Tensor moe_block(const ModelWeights& w, int64_t layer, const at::Tensor& x) {
  const ModelConfig& c = w.config();
  const std::string p = ModelWeights::layer_name(layer, "mlp");
  const auto shape = x.sizes().vec();
  at::Tensor h = x.reshape({-1, c.hidden_size});                        // [N, hidden]
  at::Tensor router_logits = at::linear(h, w.get(p + ".gate.weight"));  // [N, E]
  at::Tensor probs = at::softmax(router_logits, -1, at::kFloat);
  auto top = at::topk(probs, c.num_experts_per_tok, -1);
  at::Tensor top_weights = std::get<0>(top);                            // [N, k]
  at::Tensor top_index = std::get<1>(top);                              // [N, k]
  if (c.norm_topk_prob) top_weights = top_weights / top_weights.sum(-1, /*keepdim=*/true);
  top_weights = top_weights.to(router_logits.scalar_type());
  at::Tensor out = at::zeros_like(h);
  // Experts in ascending order; within an expert, rows ordered by (top-k slot, token) as
  // transformers gathers them, so the accumulation order (and bf16 rounding) is the same.
  at::Tensor hit = std::get<0>(at::_unique(top_index.flatten(), /*sorted=*/true)).to(at::kCPU);
  const int64_t* hit_ptr = hit.data_ptr<int64_t>();
  at::Tensor slot_major = top_index.t();                                // [k, N]
  for (int64_t i = 0; i < hit.numel(); ++i) {
    const int64_t e = hit_ptr[i];
    at::Tensor where = at::nonzero(slot_major == e);                    // [n, 2] (slot, token)
    at::Tensor slot = where.select(1, 0);
    at::Tensor token = where.select(1, 1);
    const std::string ep = p + ".experts." + std::to_string(e);
    at::Tensor gate_up = at::linear(h.index_select(0, token), w.get(ep + ".gate_up_proj.weight"));
    auto parts = gate_up.chunk(2, -1);
    at::Tensor y = at::linear(at::silu(parts[0]) * parts[1], w.get(ep + ".down_proj.weight"));
    y = y * top_weights.index({token, slot}).unsqueeze(-1);
    out.index_add_(0, token, y.to(out.scalar_type()));
  }
  return out.view(shape);
}

}  // namespace kvbench
