// SPDX-License-Identifier: Apache-2.0
// ModelWeights lookups.
#include "harness/model/weights.h"

#include "harness/error.h"

#include <set>

namespace kvbench {

const at::Tensor& ModelWeights::get(const std::string& name) const {
  auto it = tensors_.find(name);
  KVBENCH_ASSERT(it != tensors_.end(), "weight '", name, "' was not loaded");
  return it->second;
}

std::string ModelWeights::layer_name(int64_t layer, const std::string& suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

const at::Tensor& ModelWeights::layer(int64_t layer, const std::string& suffix) const {
  return get(layer_name(layer, suffix));
}

int64_t ModelWeights::bytes() const {
  std::set<const void*> seen;
  int64_t total = 0;
  for (const auto& kv : tensors_) {
    if (!seen.insert(kv.second.data_ptr()).second) continue;
    total += static_cast<int64_t>(kv.second.nbytes());
  }
  return total;
}

}  // namespace kvbench
