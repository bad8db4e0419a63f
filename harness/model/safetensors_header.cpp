// SPDX-License-Identifier: Apache-2.0
// Safetensors header validation (no LibTorch): byte sizes are computed with overflow checks, so a
// hostile shape cannot wrap around and pass the size check with a tiny data range.
#include "harness/model/safetensors_header.h"

#include "harness/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <utility>

namespace kvbench {
namespace {

uint64_t element_size_of(const std::string& dtype) {
  if (dtype == "BF16" || dtype == "F16") return 2;
  if (dtype == "F32") return 4;
  if (dtype == "F8_E4M3") return 1;
  return 0;
}

}  // namespace

const char* safetensors_supported_dtypes() { return "BF16, F16, F32, F8_E4M3"; }

SafetensorsHeader parse_safetensors_header(const unsigned char* bytes, uint64_t file_size,
                                           const std::string& file) {
  KVBENCH_CHECK_INPUT(file_size >= 8, file, ": truncated safetensors file: ", file_size,
                      " bytes, shorter than the 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little endian
  KVBENCH_CHECK_INPUT(header_len <= file_size - 8, file, ": header length ", header_len,
                      " at offset 0 runs past the end of the file (", file_size, " bytes)");
  SafetensorsHeader out;
  out.data_start = 8 + header_len;
  const uint64_t data_size = file_size - out.data_start;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    KVBENCH_FAIL(ErrorKind::kInput, file, ": header (bytes 8..", out.data_start,
                 ") is not valid JSON: ", e.what());
  }
  KVBENCH_CHECK_INPUT(header.is_object(), file, ": header is not a JSON object");
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") continue;
    const auto& info = it.value();
    const std::string where = file + ": tensor '" + name + "'";
    KVBENCH_CHECK_INPUT(info.is_object() && info.contains("dtype") && info["dtype"].is_string() &&
                            info.contains("shape") && info["shape"].is_array() &&
                            info.contains("data_offsets") && info["data_offsets"].is_array() &&
                            info["data_offsets"].size() == 2,
                        where, ": header entry needs dtype, shape and data_offsets [begin, end]");
    SafetensorsTensorInfo entry;
    entry.dtype = info["dtype"].get<std::string>();
    entry.element_size = element_size_of(entry.dtype);
    KVBENCH_CHECK_INPUT(entry.element_size != 0, where, ": unknown or unsupported dtype '",
                        entry.dtype, "' (supported: ", safetensors_supported_dtypes(), ")");
    for (const auto& d : info["shape"]) {
      KVBENCH_CHECK_INPUT(d.is_number_unsigned(), where, ": shape entries must be non-negative integers");
      const uint64_t dim = d.get<uint64_t>();
      KVBENCH_CHECK_INPUT(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
                              !__builtin_mul_overflow(entry.numel, dim, &entry.numel),
                          where, ": shape ", info["shape"].dump(), " has more elements than fit in 64 bits");
      entry.shape.push_back(static_cast<int64_t>(dim));
    }
    uint64_t nbytes = 0;
    KVBENCH_CHECK_INPUT(!__builtin_mul_overflow(entry.numel, entry.element_size, &nbytes), where,
                        ": shape ", info["shape"].dump(), " with dtype ", entry.dtype,
                        " needs more bytes than fit in 64 bits");
    const auto& off = info["data_offsets"];
    KVBENCH_CHECK_INPUT(off[0].is_number_unsigned() && off[1].is_number_unsigned(), where,
                        ": data_offsets must be non-negative integers");
    entry.begin = off[0].get<uint64_t>();
    entry.end = off[1].get<uint64_t>();
    KVBENCH_CHECK_INPUT(entry.begin <= entry.end, where, ": data_offsets [", entry.begin, ", ",
                        entry.end, "] are out of order");
    KVBENCH_CHECK_INPUT(entry.end - entry.begin == nbytes, where, ": data_offsets [", entry.begin,
                        ", ", entry.end, "] hold ", entry.end - entry.begin, " bytes but shape and dtype ",
                        entry.dtype, " need ", nbytes);
    KVBENCH_CHECK_INPUT(entry.end <= data_size, where, ": data_offsets [", entry.begin, ", ",
                        entry.end, "] are out of range: the data section has only ", data_size,
                        " bytes (truncated file?)");
    ranges.push_back({{entry.begin, entry.end}, name});
    out.tensors.emplace(name, std::move(entry));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    KVBENCH_CHECK_INPUT(ranges[i].first.first >= ranges[i - 1].first.second, file, ": tensor '",
                        ranges[i].second, "' data_offsets [", ranges[i].first.first, ", ",
                        ranges[i].first.second, "] overlap tensor '", ranges[i - 1].second, "' [",
                        ranges[i - 1].first.first, ", ", ranges[i - 1].first.second, "]");
  }
  return out;
}

}  // namespace kvbench
