// SPDX-License-Identifier: Apache-2.0
// Qwen3ForCausalLM: per-head RMSNorm of q and k before RoPE; optional attention bias; tied
// embeddings on the small sizes.
#include "harness/model/blocks.h"

namespace kvbench {
namespace {

class Qwen3 : public Architecture {
 public:
  std::vector<WeightSpec> weight_specs(const ModelConfig& c) const override {
    std::vector<WeightSpec> specs = model_weight_specs(c);
    for (int64_t l = 0; l < c.num_layers; ++l) {
      auto a = attention_weight_specs(c, l, qwen3_attention_layout(c));
      auto m = swiglu_weight_specs(ModelWeights::layer_name(l, "mlp"), c.hidden_size, c.intermediate_size, false);
      specs.insert(specs.end(), a.begin(), a.end());
      specs.insert(specs.end(), m.begin(), m.end());
    }
    return specs;
  }
  QkvProjection project_qkv(const ModelWeights& w, int64_t layer, const at::Tensor& x) const override {
    return kvbench::project_qkv(w, layer, x, qwen3_attention_layout(w.config()));
  }
  at::Tensor mlp(const ModelWeights& w, int64_t layer, const at::Tensor& x) const override {
    return swiglu_mlp(w, ModelWeights::layer_name(layer, "mlp"), x);
  }
};

}  // namespace

KVBENCH_REGISTER(Architecture, RegistryEntry<Architecture>{
    "Qwen3ForCausalLM", "Qwen3 dense decoders (per-head q/k RMSNorm before RoPE)", {},
    [](const nlohmann::json&) { return std::unique_ptr<Architecture>(new Qwen3()); }, {}});

void link_architecture_qwen3() {}  // referenced by architectures(): keeps this file linked

}  // namespace kvbench
