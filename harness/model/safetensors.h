// SPDX-License-Identifier: Apache-2.0
// One .safetensors file, memory-mapped read-only: the header is parsed and validated on open
// (header length, JSON, dtypes, shapes vs byte sizes, offsets in range and non-overlapping), and each
// tensor is exposed as a CPU view over the mapping (no copy). Every error names the file and tensor.
#pragma once

#include "harness/model/safetensors_header.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kvbench {

struct SafetensorsEntry {
  std::string dtype;            // as written in the header: "BF16", "F16", "F32", "F8_E4M3"
  at::ScalarType scalar_type;   // the matching ATen type
  std::vector<int64_t> shape;
  uint64_t begin = 0;           // byte offsets relative to the start of the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps `path` and validates its header; throws kvbench::Error(kInput) naming the file (and the
  // tensor) on any inconsistency.
  explicit SafetensorsFile(std::string path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;
  // A CPU tensor aliasing the mapped bytes (valid while this object lives; do not write to it).
  at::Tensor view(const std::string& name) const;
  // Tells the kernel the mapped pages of `name` are no longer needed (after copying it out), so
  // loading a model does not keep the file's pages resident next to the loaded copy.
  void release(const std::string& name) const;

 private:
  std::string path_;
  void* map_ = nullptr;
  uint64_t size_ = 0;
  uint64_t data_start_ = 0;     // 8 + header length
  std::map<std::string, SafetensorsEntry> entries_;
};

}  // namespace kvbench
