// SPDX-License-Identifier: Apache-2.0
// Test helper: the tiny reference checkpoints of scripts/make_tiny_checkpoints.py, generated on
// first use into $KVBENCH_TEST_TMP/tiny_models by the venv's transformers (the script skips the work
// when its STAMP matches), and their recorded reference outputs.
#pragma once

#include "harness/error.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace kvbench::test {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

// Directory holding one sub-folder per tiny model; throws when the script fails.
inline std::string tiny_models_dir() {
  static const std::string dir = [] {
#ifdef KVBENCH_TEST_TMP_DEFAULT
    const std::string tmp = env_or("KVBENCH_TEST_TMP", KVBENCH_TEST_TMP_DEFAULT);
#else
    const std::string tmp = env_or("KVBENCH_TEST_TMP", "/tmp/kvbench-test-tmp");
#endif
#ifdef KVBENCH_PYTHON_DEFAULT
    const std::string python = env_or("KVBENCH_PYTHON", KVBENCH_PYTHON_DEFAULT);
#else
    const std::string python = env_or("KVBENCH_PYTHON", "python3");
#endif
    const std::string source = env_or("KVBENCH_SOURCE_DIR", KVBENCH_SOURCE_DIR);
    const std::string out = tmp + "/tiny_models";
    std::filesystem::create_directories(tmp);
    const std::string cmd = "'" + python + "' '" + source + "/scripts/make_tiny_checkpoints.py' '" + out +
                            "' > '" + tmp + "/make_tiny_checkpoints.log' 2>&1";
    KVBENCH_CHECK(std::system(cmd.c_str()) == 0, "tiny checkpoint script failed: ", cmd, " (see ",
                  tmp, "/make_tiny_checkpoints.log)");
    return out;
  }();
  return dir;
}

inline const std::vector<std::string>& tiny_model_names() {
  static const std::vector<std::string> names = {"llama3", "smollm2", "qwen2", "qwen3", "qwen3_moe"};
  return names;
}

inline nlohmann::json tiny_reference(const std::string& name) {
  std::ifstream in(tiny_models_dir() + "/" + name + "/reference.json");
  return nlohmann::json::parse(in);
}

}  // namespace kvbench::test
