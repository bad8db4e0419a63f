// SPDX-License-Identifier: Apache-2.0
// LlamaForCausalLM: Llama 3.x (GQA, llama3 RoPE scaling, tied embeddings on 1B/3B) and other
// Llama-architecture checkpoints with default RoPE (e.g. SmolLM2). Optional attention/MLP biases.
#include "harness/model/blocks.h"

namespace kvbench {
namespace {

class Llama : public Architecture {
 public:
  std::vector<WeightSpec> weight_specs(const ModelConfig& c) const override {
    std::vector<WeightSpec> specs = model_weight_specs(c);
    for (int64_t l = 0; l < c.num_layers; ++l) {
      auto a = attention_weight_specs(c, l, layout(c));
      auto m = swiglu_weight_specs(ModelWeights::layer_name(l, "mlp"), c.hidden_size, c.intermediate_size, c.mlp_bias);
      specs.insert(specs.end(), a.begin(), a.end());
      specs.insert(specs.end(), m.begin(), m.end());
    }
    return specs;
  }
  QkvProjection project_qkv(const ModelWeights& w, int64_t layer, const at::Tensor& x) const override {
    return kvbench::project_qkv(w, layer, x, layout(w.config()));
  }
  at::Tensor mlp(const ModelWeights& w, int64_t layer, const at::Tensor& x) const override {
    return swiglu_mlp(w, ModelWeights::layer_name(layer, "mlp"), x);
  }

 private:
  static AttentionLayout layout(const ModelConfig& c) {
    AttentionLayout a;
    a.qkv_bias = c.attention_bias;
    a.o_bias = c.attention_bias;
    return a;
  }
};

}  // namespace

KVBENCH_REGISTER(Architecture, RegistryEntry<Architecture>{
    "LlamaForCausalLM",
    "Llama 3.x / Llama-architecture decoders (GQA, default or llama3 RoPE, optional tied embeddings)",
    {},
    [](const nlohmann::json&) { return std::unique_ptr<Architecture>(new Llama()); },
    {}});

void link_architecture_llama() {}  // referenced by architectures(): keeps this file linked

}  // namespace kvbench
