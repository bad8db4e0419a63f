// SPDX-License-Identifier: Apache-2.0
// What every fuzz target shares: the rule that bad input may only end in a kvbench::Error of an
// allowed kind with a non-empty one-line message (anything else aborts, so libFuzzer records it as
// a crash), a per-process scratch folder for parsers that read files, and the data folder.
#pragma once

#include "harness/error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <string>

#include <unistd.h>

namespace kvbench::fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what.c_str());
  std::abort();
}

// A rejected input: the error must be of an allowed kind and its message one non-empty line.
inline void expect_clean_error(const Error& e, std::initializer_list<ErrorKind> allowed) {
  bool ok = false;
  for (ErrorKind k : allowed) ok = ok || e.kind() == k;
  if (!ok) fail(std::string("unexpected error kind ") + std::to_string(static_cast<int>(e.kind())) + ": " + e.what());
  const std::string message = e.what();
  if (message.empty()) fail("empty error message");
  if (message.find('\n') != std::string::npos) fail("multi-line error message: " + message);
}

inline std::filesystem::path data_dir() {
  const char* env = std::getenv("KVBENCH_DATA_DIR");
  return env && *env ? env : KVBENCH_FUZZ_DATA_DIR;
}

// A folder private to this process (libFuzzer's -jobs/-fork run several), removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "kvbench-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp failed");
    static std::string to_remove = pattern;
    std::atexit([] { std::filesystem::remove_all(to_remove); });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) fail("cannot write " + path.string());
  if (size != 0 && std::fwrite(data, 1, size, f) != size) fail("short write to " + path.string());
  std::fclose(f);
}

}  // namespace kvbench::fuzz
