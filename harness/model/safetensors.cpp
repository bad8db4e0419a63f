// SPDX-License-Identifier: Apache-2.0
// Safetensors mmap reader: the header validated by parse_safetensors_header (safetensors_header.h),
// zero-copy tensor views over the mapping.
#include "harness/model/safetensors.h"

#include "harness/error.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kvbench {
namespace {

at::ScalarType scalar_type_of(const std::string& dtype) {
  if (dtype == "BF16") return at::kBFloat16;
  if (dtype == "F16") return at::kHalf;
  if (dtype == "F32") return at::kFloat;
  if (dtype == "F8_E4M3") return at::kFloat8_e4m3fn;
  KVBENCH_FAIL(ErrorKind::kInternal, "dtype ", dtype, " passed parse_safetensors_header but has no ATen type");
}

}  // namespace

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
  const int map_errno = errno;
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    // ENOMEM is the process running out of address space (a resource limit), not a bad file.
    KVBENCH_FAIL(map_errno == ENOMEM ? ErrorKind::kRun : ErrorKind::kInput, path_,
                 ": mmap failed: ", std::strerror(map_errno));
  }
  try {
    SafetensorsHeader header =
        parse_safetensors_header(static_cast<const unsigned char*>(map_), size_, path_);
    data_start_ = header.data_start;
    for (auto& [name, info] : header.tensors) {
      SafetensorsEntry entry;
      entry.dtype = info.dtype;
      entry.scalar_type = scalar_type_of(info.dtype);
      entry.shape = std::move(info.shape);
      entry.begin = info.begin;
      entry.end = info.end;
      entries_.emplace(name, std::move(entry));
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
