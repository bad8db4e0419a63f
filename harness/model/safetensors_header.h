// SPDX-License-Identifier: Apache-2.0
// The header of a .safetensors file (8-byte little-endian length, then a JSON object of tensor
// name -> {dtype, shape, data_offsets}), parsed and validated from bytes without LibTorch: the
// mmap reader (safetensors.h) builds on it, and the fuzz target tests/fuzz/fuzz_safetensors.cpp
// feeds it arbitrary bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kvbench {

struct SafetensorsTensorInfo {
  std::string dtype;            // as written: "BF16", "F16", "F32", "F8_E4M3"
  uint64_t element_size = 0;    // bytes per element of `dtype`
  std::vector<int64_t> shape;   // every dimension <= INT64_MAX; product fits in uint64
  uint64_t numel = 1;           // product of shape (1 for a scalar, shape [])
  uint64_t begin = 0;           // byte offsets relative to the start of the data section
  uint64_t end = 0;             // invariant: end - begin == numel * element_size, end <= data size
};

struct SafetensorsHeader {
  uint64_t data_start = 0;                              // 8 + header length
  std::map<std::string, SafetensorsTensorInfo> tensors; // "__metadata__" is not a tensor
};

// dtypes kvbench reads, as a comma-separated list for error messages.
const char* safetensors_supported_dtypes();

// Parses bytes[0, file_size) (only the first 8 + header length bytes are read). Throws
// kvbench::Error(kInput) naming `file` (and the tensor) on any inconsistency: truncated file,
// header length past the end, invalid JSON, unsupported dtype, shape/size mismatch or overflow,
// offsets out of order, out of range or overlapping.
SafetensorsHeader parse_safetensors_header(const unsigned char* bytes, uint64_t file_size,
                                           const std::string& file);

}  // namespace kvbench
