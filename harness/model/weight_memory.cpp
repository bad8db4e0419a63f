// SPDX-License-Identifier: Apache-2.0
// Weight bytes from safetensors headers (read with pread, parsed by parse_safetensors_header) and
// the model.max_weight_bytes check.
#include "harness/model/weight_memory.h"

#include "harness/error.h"
#include "harness/model/safetensors_header.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kvbench {
namespace {

// numel of every tensor in one safetensors file, reading only its header.
uint64_t file_elements(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  KVBENCH_CHECK_INPUT(fd >= 0, path.string(), ": cannot open safetensors file: ", std::strerror(errno));
  struct stat st {};
  std::vector<unsigned char> bytes(8);
  bool ok = ::fstat(fd, &st) == 0 && ::pread(fd, bytes.data(), 8, 0) == 8;
  if (ok) {
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
    // A header longer than the file is reported by the parser; read only what exists.
    const uint64_t available = static_cast<uint64_t>(st.st_size) - 8;
    bytes.resize(8 + std::min(header_len, available));
    ok = ::pread(fd, bytes.data() + 8, bytes.size() - 8, 8) == static_cast<ssize_t>(bytes.size() - 8);
  }
  ::close(fd);
  KVBENCH_CHECK_INPUT(ok, path.string(), ": cannot read the safetensors header: ", std::strerror(errno));
  // parse_safetensors_header reads only the first 8 + header length bytes of the file.
  SafetensorsHeader header = parse_safetensors_header(bytes.data(), static_cast<uint64_t>(st.st_size), path.string());
  uint64_t total = 0;
  for (const auto& [name, tensor] : header.tensors) total += tensor.numel;
  return total;
}

}  // namespace

uint64_t checkpoint_weight_bytes(const std::filesystem::path& folder, uint64_t element_size) {
  const auto index_file = folder / "model.safetensors.index.json";
  std::set<std::string> files;
  if (std::filesystem::exists(index_file)) {
    std::ifstream in(index_file);
    nlohmann::json index = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    KVBENCH_CHECK_INPUT(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
                        index_file.string(), ": not JSON with an object 'weight_map'");
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      KVBENCH_CHECK_INPUT(file.is_string(), index_file.string(), ": weight_map['", tensor, "'] is not a file name");
      files.insert(file.get<std::string>());
    }
  } else {
    files.insert("model.safetensors");
  }
  uint64_t bytes = 0;
  for (const auto& file : files) bytes += file_elements(folder / file) * element_size;
  return bytes;
}

void check_weight_memory_limit(const nlohmann::json& model_config) {
  const nlohmann::json& limit = model_config["max_weight_bytes"];
  if (limit.is_null()) return;
  const std::string dtype = model_config["dtype"].get<std::string>();
  const uint64_t element_size = dtype == "float32" ? 4 : 2;  // bfloat16, float16
  const std::string folder = model_config["path"].get<std::string>();
  const uint64_t need = checkpoint_weight_bytes(folder, element_size);
  KVBENCH_CHECK(need <= limit.get<uint64_t>(), "out of memory: the weights of ", folder, " need ", need,
                " bytes in ", dtype, ", more than model.max_weight_bytes (", limit.get<uint64_t>(), ")");
}

}  // namespace kvbench
