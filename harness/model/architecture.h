// SPDX-License-Identifier: Apache-2.0
// Architecture: what differs between decoder-only model families (which tensors exist, how q/k/v
// are projected, which MLP runs). The decoder skeleton (embedding, pre-norm residual layers, RoPE,
// the KV-method attention hook, final norm, LM head) is shared in causal_lm.cpp. One file per
// architecture registers itself under its Hugging Face class name (config.json "architectures").
#pragma once

#include "harness/model/model_config.h"
#include "harness/model/weights.h"
#include "harness/registry.h"

#include <ATen/ATen.h>

#include <vector>

namespace kvbench {

// Projections of one layer for T tokens, before RoPE (after per-head q/k norm where the
// architecture has one). q [B, T, Hq, d]; k, v [B, T, Hkv, d].
struct QkvProjection {
  at::Tensor q;
  at::Tensor k;
  at::Tensor v;
};

class Architecture {
 public:
  virtual ~Architecture() = default;
  // Architecture-specific config checks (throw kInput naming config.json and the field).
  virtual void validate(const ModelConfig& config) const {}
  // Every tensor the checkpoint must hold, with the shape config.json implies.
  virtual std::vector<WeightSpec> weight_specs(const ModelConfig& config) const = 0;
  // Load-time repacking of loaded weights (e.g. fusing expert gate/up projections). Default: none.
  virtual void prepare(ModelWeights& weights) const {}
  // x: the layer's normalized input [B, T, hidden].
  virtual QkvProjection project_qkv(const ModelWeights& weights, int64_t layer, const at::Tensor& x) const = 0;
  // x: the post-attention normalized hidden state [B, T, hidden] -> [B, T, hidden].
  virtual at::Tensor mlp(const ModelWeights& weights, int64_t layer, const at::Tensor& x) const = 0;
};

KVBENCH_REGISTRY_KIND(Architecture, "architecture");
using ArchitectureRegistry = Registry<Architecture>;

// The architecture registry with every built-in architecture linked in. The architecture files live
// in the kvbench_model static archive, so use this (not ArchitectureRegistry::instance()) to list
// them: it references each file's link anchor, which keeps its registration in the final binary.
const ArchitectureRegistry& architectures();

// The registered architecture for config.architecture, or kInput listing the supported ones.
const RegistryEntry<Architecture>& find_architecture(const ModelConfig& config);

}  // namespace kvbench
