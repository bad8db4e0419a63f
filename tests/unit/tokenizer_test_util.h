// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the tokenizer tests: environment paths, running the Python reference, and
// reading its little-endian binary outputs (formats in scripts/reference/hf_tokenizer_reference.py).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace kvbench::test {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
inline std::string data_dir() { return env_or("KVBENCH_DATA_DIR", "../shared/data"); }
inline std::string source_dir() { return env_or("KVBENCH_SOURCE_DIR", "."); }
inline std::string tmp_dir() { return env_or("KVBENCH_TEST_TMP", "/tmp"); }
inline std::string python() { return env_or("KVBENCH_PYTHON", "python3"); }

// Runs a shell command; returns its exit status (output goes to the test log).
inline int run_command(const std::string& cmd) { return std::system(cmd.c_str()); }

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class BinReader {
 public:
  explicit BinReader(const std::string& path) : data_(read_file(path)) {}
  uint32_t u32() {
    uint32_t v;
    need(4);
    __builtin_memcpy(&v, data_.data() + pos_, 4);
    pos_ += 4;
    return v;
  }
  uint8_t u8() {
    need(1);
    return static_cast<uint8_t>(data_[pos_++]);
  }
  std::string bytes(size_t n) {
    need(n);
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string str() { return bytes(u32()); }
  std::vector<int32_t> ids() {
    const uint32_t n = u32();
    need(size_t(n) * 4);
    std::vector<int32_t> v(n);
    __builtin_memcpy(v.data(), data_.data() + pos_, size_t(n) * 4);
    pos_ += size_t(n) * 4;
    return v;
  }

 private:
  void need(size_t n) const {
    if (pos_ + n > data_.size()) throw std::runtime_error("truncated reference file");
  }
  std::string data_;
  size_t pos_ = 0;
};

}  // namespace kvbench::test
