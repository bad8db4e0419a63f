// SPDX-License-Identifier: Apache-2.0
// ModelWeights: every tensor of a loaded model by its Hugging Face name ("model.layers.3.self_attn.
// q_proj.weight"), on the compute device in the compute dtype, plus the config they were checked
// against. Read-only after loading; KV methods get it through ModelView to reach any layer's weights.
#pragma once

#include "harness/kv/layer_weights.h"
#include "harness/model/model_config.h"

#include <ATen/ATen.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace kvbench {

// One tensor an architecture needs, with the shape config.json implies.
struct WeightSpec {
  std::string name;
  std::vector<int64_t> shape;
};

class ModelWeights : public LayerWeights {
 public:
  ModelWeights(ModelConfig config, at::ScalarType dtype, at::Device device)
      : config_(std::move(config)), dtype_(dtype), device_(device) {}

  const ModelConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  at::Device device() const { return device_; }

  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws kInternal when absent (loading guarantees every spec'd tensor is present).
  const at::Tensor& get(const std::string& name) const;
  // "model.layers.<layer>.<suffix>"
  const at::Tensor& layer(int64_t layer, const std::string& suffix) const override;
  static std::string layer_name(int64_t layer, const std::string& suffix);
  void set(const std::string& name, at::Tensor tensor) { tensors_[name] = std::move(tensor); }
  void erase(const std::string& name) { tensors_.erase(name); }
  // Total bytes of all distinct tensors (tied weights counted once).
  int64_t bytes() const;

 private:
  ModelConfig config_;
  at::ScalarType dtype_;
  at::Device device_;
  std::unordered_map<std::string, at::Tensor> tensors_;
};

}  // namespace kvbench
