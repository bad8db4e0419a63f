// SPDX-License-Identifier: Apache-2.0
// Qwen2ForCausalLM (Qwen 2.5): Llama layout with biases on the q/k/v projections (none on o_proj).
#include "harness/model/blocks.h"

namespace kvbench {
namespace {

AttentionLayout qwen2_layout() {
  AttentionLayout a;
  a.qkv_bias = true;
  return a;
}

class Qwen2 : public Architecture {
 public:
  std::vector<WeightSpec> weight_specs(const ModelConfig& c) const override {
    std::vector<WeightSpec> specs = model_weight_specs(c);
    for (int64_t l = 0; l < c.num_layers; ++l) {
      auto a = attention_weight_specs(c, l, qwen2_layout());
      auto m = swiglu_weight_specs(ModelWeights::layer_name(l, "mlp"), c.hidden_size, c.intermediate_size, false);
      specs.insert(specs.end(), a.begin(), a.end());
      specs.insert(specs.end(), m.begin(), m.end());
    }
    return specs;
  }
  QkvProjection project_qkv(const ModelWeights& w, int64_t layer, const at::Tensor& x) const override {
    return kvbench::project_qkv(w, layer, x, qwen2_layout());
  }
  at::Tensor mlp(const ModelWeights& w, int64_t layer, const at::Tensor& x) const override {
    return swiglu_mlp(w, ModelWeights::layer_name(layer, "mlp"), x);
  }
};

}  // namespace

KVBENCH_REGISTER(Architecture, RegistryEntry<Architecture>{
    "Qwen2ForCausalLM", "Qwen 2 / 2.5 decoders (q/k/v projection biases)", {},
    [](const nlohmann::json&) { return std::unique_ptr<Architecture>(new Qwen2()); }, {}});

void link_architecture_qwen2() {}  // referenced by architectures(): keeps this file linked

}  // namespace kvbench
