// SPDX-License-Identifier: Apache-2.0
// Model-folder safetensors discovery (single file or sharded index) and per-tensor loading.
#include "harness/model/checkpoint.h"

#include "harness/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace kvbench {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < s.size(); ++i) out << (i ? ", " : "") << s[i];
  out << "]";
  return out.str();
}

}  // namespace

Checkpoint::Checkpoint(const std::string& folder) : folder_(folder) {
  namespace fs = std::filesystem;
  const fs::path dir(folder);
  const fs::path index_file = dir / "model.safetensors.index.json";
  const fs::path single = dir / "model.safetensors";
  if (fs::exists(index_file)) {
    index_path_ = index_file.string();
    std::ifstream in(index_path_);
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      KVBENCH_FAIL(ErrorKind::kInput, index_path_, ": invalid JSON: ", e.what());
    }
    KVBENCH_CHECK_INPUT(index.contains("weight_map") && index["weight_map"].is_object(), index_path_,
                        ": missing object 'weight_map'");
    std::map<std::string, const SafetensorsFile*> opened;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      KVBENCH_CHECK_INPUT(it.value().is_string(), index_path_, ": weight_map['", it.key(),
                          "'] must be a file name");
      const std::string shard = it.value().get<std::string>();
      auto found = opened.find(shard);
      if (found == opened.end()) {
        const fs::path shard_path = dir / shard;
        KVBENCH_CHECK_INPUT(fs::exists(shard_path), index_path_, ": shard '", shard,
                            "' (listed for tensor '", it.key(), "') does not exist");
        files_.push_back(std::make_unique<SafetensorsFile>(shard_path.string()));
        found = opened.emplace(shard, files_.back().get()).first;
      }
      KVBENCH_CHECK_INPUT(found->second->contains(it.key()), found->second->path(), ": missing tensor '",
                          it.key(), "' (listed in ", index_path_, ")");
      index_[it.key()] = found->second;
    }
  } else {
    KVBENCH_CHECK_INPUT(fs::exists(single), folder, ": no model.safetensors or model.safetensors.index.json");
    index_path_ = single.string();
    files_.push_back(std::make_unique<SafetensorsFile>(index_path_));
    for (const auto& kv : files_.back()->entries()) index_[kv.first] = files_.back().get();
  }
}

const SafetensorsFile& Checkpoint::file_of(const std::string& name) const {
  auto it = index_.find(name);
  KVBENCH_CHECK_INPUT(it != index_.end(), index_path_, ": missing tensor '", name, "'");
  return *it->second;
}

std::vector<int64_t> Checkpoint::shape(const std::string& name) const {
  return file_of(name).entry(name).shape;
}

at::Tensor Checkpoint::load(const std::string& name, at::ScalarType dtype, at::Device device,
                            const std::vector<int64_t>& expected_shape) const {
  const SafetensorsFile& file = file_of(name);
  const SafetensorsEntry& entry = file.entry(name);
  KVBENCH_CHECK_INPUT(expected_shape.empty() || entry.shape == expected_shape, file.path(), ": tensor '",
                      name, "' has shape ", shape_str(entry.shape), " but config.json implies ",
                      shape_str(expected_shape));
  // FP8 weights are meaningful only with their scale tensors (weight_scale_inv per 128x128 block,
  // or a per-tensor weight_scale), which kvbench does not apply: refuse rather than run a model whose
  // weights are off by those scales.
  KVBENCH_CHECK_INPUT(entry.scalar_type != at::kFloat8_e4m3fn, file.path(), ": tensor '", name, "' is stored as ",
                      entry.dtype, " (an FP8-quantized checkpoint): its scales are not applied by kvbench, so it "
                      "is refused rather than run with wrong weights; use the checkpoint's bf16/fp16/fp32 release");
  at::Tensor view = file.view(name);
  // Move the raw bytes first (GPU: convert there), so only one tensor is ever staged in host RAM.
  // The result never aliases the mapping.
  at::Tensor out = device.is_cpu() ? (entry.scalar_type == dtype ? view.clone() : view.to(dtype))
                                   : view.to(device).to(dtype);
  file.release(name);
  return out;
}

}  // namespace kvbench
