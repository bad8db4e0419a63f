// SPDX-License-Identifier: Apache-2.0
#include "harness/run/model_identity.h"

#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/source_dir.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

namespace kvbench {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  KVBENCH_CHECK_INPUT(in.good(), path.string(), ": cannot read");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The folder's *.safetensors files in name order.
std::vector<fs::path> safetensors_files(const fs::path& folder) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_regular_file() && entry.path().extension() == ".safetensors") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// The 8-byte little-endian length and the JSON header of a safetensors file.
std::string safetensors_header(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  KVBENCH_CHECK_INPUT(in.good(), path.string(), ": cannot read");
  unsigned char length_bytes[8] = {};
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  KVBENCH_CHECK_INPUT(in.gcount() == 8, path.string(), ": truncated safetensors file (no header length)");
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | length_bytes[i];
  const uint64_t size = fs::file_size(path);
  KVBENCH_CHECK_INPUT(length <= size - 8, path.string(), ": safetensors header length ", length,
                      " runs past the end of the file (", size, " bytes)");
  std::string header(static_cast<size_t>(length), '\0');
  in.read(header.data(), static_cast<std::streamsize>(length));
  return std::string(reinterpret_cast<const char*>(length_bytes), 8) + header;
}

std::string command_output(const std::string& cmd) {
  std::string out;
  FILE* pipe = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

std::string model_structure_sha256(const std::string& folder) {
  const fs::path dir(folder);
  if (!fs::exists(dir / "config.json")) return "";
  Sha256 sha;
  const std::string config = read_file(dir / "config.json");
  sha.update(config.data(), config.size());
  for (const fs::path& file : safetensors_files(dir)) {
    const std::string name = file.filename().string();
    const std::string header = safetensors_header(file);
    sha.update(name.data(), name.size() + 1);  // with its terminating NUL as a separator
    sha.update(header.data(), header.size());
  }
  return sha.hex();
}

std::string model_weights_sha256(const std::string& folder) {
  const fs::path dir(folder);
  if (!fs::exists(dir / "config.json")) return "";
  // Key: every file's path, size and modification time; a rewritten file gets a new key.
  std::string key = fs::absolute(dir).string();
  std::vector<fs::path> files = safetensors_files(dir);
  for (const fs::path& file : files)
    key += "|" + file.filename().string() + ":" + std::to_string(fs::file_size(file)) + ":" +
           std::to_string(fs::last_write_time(file).time_since_epoch().count());
  static std::mutex mutex;
  static std::map<std::string, std::string> memo;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = memo.find(key);
  if (it != memo.end()) return it->second;
  Sha256 sha;
  const std::string config = read_file(dir / "config.json");
  sha.update(config.data(), config.size());
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    sha.update(name.data(), name.size() + 1);
    const std::string content_sha = sha256_file_hex(file);
    sha.update(content_sha.data(), content_sha.size());
  }
  return memo[key] = sha.hex();
}

const std::string& code_version() {
  static const std::string version = [] {
    const std::string& src = source_dir();
    const std::string sha = command_output("git -C '" + src + "' rev-parse HEAD");
    if (sha.size() < 12) return std::string(KVBENCH_VERSION);
    const bool dirty = !command_output("git -C '" + src + "' status --porcelain --untracked-files=no").empty();
    return std::string(KVBENCH_VERSION) + "+" + sha.substr(0, 12) + (dirty ? "-dirty" : "");
  }();
  return version;
}

}  // namespace kvbench
