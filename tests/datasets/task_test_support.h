// SPDX-License-Identifier: Apache-2.0
// Helpers for the task tests: build a registered task from params (resolved as the config
// validator does), locate the offline data and the scratch dir, run the reference python.
#pragma once

#include "harness/task/task.h"
#include "harness/config_document.h"
#include "harness/error.h"
#include "harness/params.h"
#include "harness/registry.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace kvbench::testing {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

inline std::filesystem::path data_dir() { return env_or("KVBENCH_DATA_DIR", "../shared/data"); }
inline std::filesystem::path source_dir() { return env_or("KVBENCH_SOURCE_DIR", "."); }
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::path(env_or("KVBENCH_TEST_TMP", "/tmp")) / name;
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::unique_ptr<Task> make_task(const std::string& name, const nlohmann::json& params,
                                       nlohmann::json* resolved_out = nullptr) {
  const auto* entry = TaskRegistry::instance().find(name);
  if (entry == nullptr) throw std::runtime_error("task not registered: " + name);
  nlohmann::json resolved =
      resolve_params(entry->params, params, "task.params", [](const std::string&) { return ""; });
  if (resolved_out != nullptr) *resolved_out = resolved;
  return entry->make(resolved);
}

inline TaskContext make_context(const std::string& protocol, const nlohmann::json& resolved = {}) {
  TaskContext context;
  context.data_root = data_dir();
  context.protocol = protocol;
  context.params = resolved;
  return context;
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return nlohmann::json::parse(buffer.str());
}

// Runs `$KVBENCH_PYTHON <args>` (args already shell-quoted); returns its exit status.
inline int run_python(const std::string& args) {
  std::string python = env_or("KVBENCH_PYTHON", "python3");
  std::string command = python + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::string output;
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  int status = pclose(pipe);
  if (status != 0) std::cerr << "command failed: " << command << "\n" << output;
  return status;
}

// configs/tasks/<name>.yaml names the task, one of its protocols, the tiny model, and task params
// that resolve against the registered spec.
inline void expect_valid_task_config(const std::string& name) {
  auto path = source_dir() / "configs/tasks" / (name + ".yaml");
  ConfigDocument doc = load_config_document(path);
  const auto& task = doc.value.at("task");
  EXPECT_EQ(task.at("name"), name) << path;
  const auto* entry = TaskRegistry::instance().find(name);
  ASSERT_NE(entry, nullptr) << name;
  if (task.contains("protocol")) {
    auto protocols = entry->extra.at("protocols").get<std::vector<std::string>>();
    EXPECT_NE(std::find(protocols.begin(), protocols.end(), task["protocol"].get<std::string>()),
              protocols.end()) << path;
  }
  EXPECT_NO_THROW(resolve_params(entry->params, task.value("params", nlohmann::json::object()),
                                 "task.params", [](const std::string&) { return ""; }))
      << path;
  EXPECT_EQ(doc.value.at("model").at("path"), "${KVBENCH_CACHE}/models/smollm2-135m-instruct") << path;
}

// The kvbench::Error message thrown by `fn` ("" when none is thrown).
template <class Fn>
std::string error_of(Fn&& fn, ErrorKind* kind = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (kind != nullptr) *kind = e.kind();
    return e.what();
  }
  return "";
}

}  // namespace kvbench::testing
