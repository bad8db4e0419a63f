// SPDX-License-Identifier: Apache-2.0
// Checkpoint: the safetensors files of a Hugging Face model folder (model.safetensors, or the shards
// listed in model.safetensors.index.json), all memory-mapped, with a tensor-name -> file index.
// Loading one tensor converts it to the compute dtype and device directly from the mapping, so a
// model is never held twice in RAM.
#pragma once

#include "harness/model/safetensors.h"

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace kvbench {

class Checkpoint {
 public:
  // Opens the folder's safetensors files. Errors (kInput) name the folder / index / file.
  explicit Checkpoint(const std::string& folder);

  const std::string& folder() const { return folder_; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // The file holding `name`; throws "missing tensor" naming where it was looked for.
  const SafetensorsFile& file_of(const std::string& name) const;
  std::vector<int64_t> shape(const std::string& name) const;
  // Copies tensor `name` to (device, dtype); `expected_shape` (when non-empty) must match.
  at::Tensor load(const std::string& name, at::ScalarType dtype, at::Device device,
                  const std::vector<int64_t>& expected_shape = {}) const;

 private:
  std::string folder_;
  std::string index_path_;   // model.safetensors.index.json or the single file, for messages
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, const SafetensorsFile*> index_;
};

}  // namespace kvbench
