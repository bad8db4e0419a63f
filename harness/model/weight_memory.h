// SPDX-License-Identifier: Apache-2.0
// The memory a checkpoint's weights take once loaded, from its safetensors headers alone (no data is
// read, no LibTorch), and the config limit on it (model.max_weight_bytes): a sweep cell whose model
// does not fit fails as out of memory before anything is allocated, so the sweep goes on with the
// next cell instead of being killed by the kernel's OOM killer halfway through a load.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>

namespace kvbench {

// Sum over the tensors of the folder's model.safetensors (or the shards of
// model.safetensors.index.json) of numel x element_size. kInput errors name the file.
uint64_t checkpoint_weight_bytes(const std::filesystem::path& folder, uint64_t element_size);

// For a resolved `model` config section: when max_weight_bytes is set and the weights in
// model.dtype need more, throws kvbench::Error(kRun) "out of memory: ..." naming both numbers.
void check_weight_memory_limit(const nlohmann::json& model_config);

}  // namespace kvbench
