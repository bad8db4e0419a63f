// SPDX-License-Identifier: Apache-2.0
// Safetensors mmap reader: header validation and zero-copy tensor views.
#include "harness/model/safetensors.h"

#include "harness/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kvbench {
namespace {

bool dtype_from_name(const std::string& name, at::ScalarType* out, size_t* element_size) {
  if (name == "BF16") { *out = at::kBFloat16; *element_size = 2; return true; }
  if (name == "F16") { *out = at::kHalf; *element_size = 2; return true; }
  if (name == "F32") { *out = at::kFloat; *element_size = 4; return true; }
  if (name == "F8_E4M3") { *out = at::kFloat8_e4m3fn; *element_size = 1; return true; }
  return false;
}

}  // namespace

const char* safetensors_supported_dtypes() { return "BF16, F16, F32, F8_E4M3"; }

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  int fd = ::open(path_.c_str(), O_RDONLY);
  KVBENCH_CHECK_INPUT(fd >= 0, path_, ": cannot open safetensors file: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    KVBENCH_FAIL(ErrorKind::kInput, path_, ": cannot stat: ", std::strerror(errno));
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    KVBENCH_FAIL(ErrorKind::kInput, path_, ": truncated safetensors file: ", size_,
                 " bytes, shorter than the 8-byte header length");
  }
  map_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  KVBENCH_CHECK_INPUT(map_ != MAP_FAILED, path_, ": mmap failed: ", std::strerror(errno));
  try {
    const auto* bytes = static_cast<const unsigned char*>(map_);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little endian
    KVBENCH_CHECK_INPUT(header_len <= size_ - 8, path_, ": header length ", header_len,
                        " at offset 0 runs past the end of the file (", size_, " bytes)");
    data_start_ = 8 + header_len;
    const uint64_t data_size = size_ - data_start_;
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len);
    } catch (const nlohmann::json::exception& e) {
      KVBENCH_FAIL(ErrorKind::kInput, path_, ": header (bytes 8..", data_start_,
                   ") is not valid JSON: ", e.what());
    }
    KVBENCH_CHECK_INPUT(header.is_object(), path_, ": header is not a JSON object");
    std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> ranges;
    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      if (name == "__metadata__") continue;
      const auto& info = it.value();
      const std::string where = path_ + ": tensor '" + name + "'";
      KVBENCH_CHECK_INPUT(info.is_object() && info.contains("dtype") && info["dtype"].is_string() &&
                              info.contains("shape") && info["shape"].is_array() &&
                              info.contains("data_offsets") && info["data_offsets"].is_array() &&
                              info["data_offsets"].size() == 2,
                          where, ": header entry needs dtype, shape and data_offsets [begin, end]");
      SafetensorsEntry entry;
      entry.dtype = info["dtype"].get<std::string>();
      size_t element_size = 0;
      KVBENCH_CHECK_INPUT(dtype_from_name(entry.dtype, &entry.scalar_type, &element_size), where,
                          ": unknown or unsupported dtype '", entry.dtype, "' (supported: ",
                          safetensors_supported_dtypes(), ")");
      uint64_t numel = 1;
      for (const auto& d : info["shape"]) {
        KVBENCH_CHECK_INPUT(d.is_number_unsigned(), where, ": shape entries must be non-negative integers");
        entry.shape.push_back(d.get<int64_t>());
        numel *= d.get<uint64_t>();
      }
      const auto& off = info["data_offsets"];
      KVBENCH_CHECK_INPUT(off[0].is_number_unsigned() && off[1].is_number_unsigned(), where,
                          ": data_offsets must be non-negative integers");
      entry.begin = off[0].get<uint64_t>();
      entry.end = off[1].get<uint64_t>();
      KVBENCH_CHECK_INPUT(entry.begin <= entry.end, where, ": data_offsets [", entry.begin, ", ",
                          entry.end, "] are out of order");
      KVBENCH_CHECK_INPUT(entry.end - entry.begin == numel * element_size, where, ": data_offsets [",
                          entry.begin, ", ", entry.end, "] hold ", entry.end - entry.begin,
                          " bytes but shape and dtype ", entry.dtype, " need ", numel * element_size);
      KVBENCH_CHECK_INPUT(entry.end <= data_size, where, ": data_offsets [", entry.begin, ", ",
                          entry.end, "] are out of range: the data section has only ", data_size,
                          " bytes (truncated file?)");
      ranges.push_back({{entry.begin, entry.end}, name});
      entries_.emplace(name, std::move(entry));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
      KVBENCH_CHECK_INPUT(ranges[i].first.first >= ranges[i - 1].first.second, path_, ": tensor '",
                          ranges[i].second, "' data_offsets [", ranges[i].first.first, ", ",
                          ranges[i].first.second, "] overlap tensor '", ranges[i - 1].second, "' [",
                          ranges[i - 1].first.first, ", ", ranges[i - 1].first.second, "]");
    }
  } catch (...) {
    ::munmap(map_, size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, size_);
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  KVBENCH_CHECK_INPUT(it != entries_.end(), path_, ": missing tensor '", name, "'");
  return it->second;
}

at::Tensor SafetensorsFile::view(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  auto* data = static_cast<char*>(map_) + data_start_ + e.begin;
  return at::from_blob(data, e.shape, at::TensorOptions().dtype(e.scalar_type).device(at::kCPU));
}

void SafetensorsFile::release(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  // Only whole pages inside the tensor's range (neighbours may still be needed).
  const uint64_t begin = (data_start_ + e.begin + page - 1) / page * page;
  const uint64_t end = (data_start_ + e.end) / page * page;
  if (end > begin) ::madvise(static_cast<char*>(map_) + begin, end - begin, MADV_DONTNEED);
}

}  // namespace kvbench
