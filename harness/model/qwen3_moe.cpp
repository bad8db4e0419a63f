// SPDX-License-Identifier: Apache-2.0
// Qwen3MoeForCausalLM (Qwen3-30B-A3B): Qwen3 attention (q/k norm) with sparse MoE MLPs: a linear
// router, softmax, top-k experts (norm_topk_prob renormalizes), SwiGLU experts. Layers listed in
// mlp_only_layers or off the decoder_sparse_step grid use a dense SwiGLU MLP.
#include "harness/error.h"
#include "harness/model/blocks.h"

namespace kvbench {
namespace {

class Qwen3Moe : public Architecture {
 public:
  void validate(const ModelConfig& c) const override {
    KVBENCH_CHECK_INPUT(c.num_experts > 0, c.path, ": Qwen3MoeForCausalLM needs num_experts > 0");
    KVBENCH_CHECK_INPUT(c.num_experts_per_tok > 0 && c.num_experts_per_tok <= c.num_experts, c.path,
                        ": num_experts_per_tok must be in [1, num_experts], got ", c.num_experts_per_tok);
    KVBENCH_CHECK_INPUT(c.moe_intermediate_size > 0, c.path, ": missing field 'moe_intermediate_size'");
  }
  std::vector<WeightSpec> weight_specs(const ModelConfig& c) const override {
    std::vector<WeightSpec> specs = model_weight_specs(c);
    for (int64_t l = 0; l < c.num_layers; ++l) {
      auto a = attention_weight_specs(c, l, qwen3_attention_layout(c));
      auto m = c.is_moe_layer(l) ? moe_weight_specs(c, l)
                                 : swiglu_weight_specs(ModelWeights::layer_name(l, "mlp"), c.hidden_size,
                                                       c.intermediate_size, false);
      specs.insert(specs.end(), a.begin(), a.end());
      specs.insert(specs.end(), m.begin(), m.end());
    }
    return specs;
  }
  void prepare(ModelWeights& w) const override {
    for (int64_t l = 0; l < w.config().num_layers; ++l)
      if (w.config().is_moe_layer(l)) fuse_expert_gate_up(w, l);
  }
  QkvProjection project_qkv(const ModelWeights& w, int64_t layer, const at::Tensor& x) const override {
    return kvbench::project_qkv(w, layer, x, qwen3_attention_layout(w.config()));
  }
  at::Tensor mlp(const ModelWeights& w, int64_t layer, const at::Tensor& x) const override {
    if (w.config().is_moe_layer(layer)) return moe_block(w, layer, x);
    return swiglu_mlp(w, ModelWeights::layer_name(layer, "mlp"), x);
  }
};

}  // namespace

KVBENCH_REGISTER(Architecture, RegistryEntry<Architecture>{
    "Qwen3MoeForCausalLM", "Qwen3 mixture-of-experts decoders (top-k routing, norm_topk_prob)", {},
    [](const nlohmann::json&) { return std::unique_ptr<Architecture>(new Qwen3Moe()); }, {}});

void link_architecture_qwen3_moe() {}  // referenced by architectures(): keeps this file linked

}  // namespace kvbench
