// SPDX-License-Identifier: Apache-2.0
// LayerWeights: read access to any layer's weights by Hugging Face suffix, for KV methods that need
// them (ModelView::weights). The model's weight store implements it (harness/model/weights.h), so
// methods reach weights without depending on the model layer.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace kvbench {

class LayerWeights {
 public:
  virtual ~LayerWeights() = default;
  // "model.layers.<layer>.<suffix>" (e.g. layer(l + 1, "self_attn.q_proj.weight")) on the compute
  // device in the compute dtype; throws when absent.
  virtual const at::Tensor& layer(int64_t layer, const std::string& suffix) const = 0;
};

}  // namespace kvbench
