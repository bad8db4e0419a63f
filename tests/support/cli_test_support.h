// SPDX-License-Identifier: Apache-2.0
// Test helper for tests that drive the kvbench binary: environment lookups, running a command with
// its exit code and output, reading JSON files, the reference scripts' output, the tiny random Qwen3
// chat model (real Qwen3 tokenizer and template, made once per test tmp dir by
// tests/support/make_tiny_chat_model.py), a LongBench config section and the rows of recorded runs.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <system_error>

namespace kvbench::test {

inline std::string env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : fallback;
}

struct CommandResult {
  int code;         // exit status, -1 when the command did not exit normally
  std::string out;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// `dir` emptied (removed if present, then created); false when either fails. Uses `rm -rf`, not
// std::filesystem::remove_all: the copy libtorch.so exports crashes on an existing tree.
inline bool recreate_dir(const std::filesystem::path& dir) {
  if (std::system(("rm -rf '" + dir.string() + "'").c_str()) != 0) return false;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  return !error;
}

// The command running scripts/reference/<script> with the test venv's python (KVBENCH_PYTHON) and
// `args`, each single-quoted (the reference checks write their fixtures this way).
inline std::string reference_script(const std::string& script, std::initializer_list<std::string> args) {
  std::string command = "'" + env("KVBENCH_PYTHON", "python3") + "' '" + env("KVBENCH_SOURCE_DIR", KVBENCH_SOURCE_DIR) +
                        "/scripts/reference/" + script + "'";
  for (const std::string& arg : args) command += " '" + arg + "'";
  return command;
}

// The JSON that scripts/reference/<script> writes when run as `<script> OUT SEED` (the seeded
// reference checks), OUT in a fresh $KVBENCH_TEST_TMP/<stem of script>/ folder. Throws with the
// script's output when it fails (gtest reports the test failed).
inline nlohmann::json seeded_reference(const std::string& script, const std::string& seed = "0") {
  const std::filesystem::path dir =
      std::filesystem::path(env("KVBENCH_TEST_TMP", "/tmp")) / std::filesystem::path(script).stem();
  if (!recreate_dir(dir)) throw std::runtime_error("cannot recreate " + dir.string());
  const std::filesystem::path out = dir / "reference.json";
  const CommandResult r = run_command(reference_script(script, {out.string(), seed}));
  if (r.code != 0) throw std::runtime_error(script + " failed (exit " + std::to_string(r.code) + "):\n" + r.out);
  return read_json_file(out);
}

// The tiny chat model folder, made on first use in this process.
inline const std::filesystem::path& tiny_chat_model() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path out = std::filesystem::path(env("KVBENCH_TEST_TMP", "/tmp")) / "tiny_chat_model";
    const CommandResult r = run_command("'" + env("KVBENCH_PYTHON", "python3") + "' '" +
                                        env("KVBENCH_SOURCE_DIR", KVBENCH_SOURCE_DIR) +
                                        "/tests/support/make_tiny_chat_model.py' '" + env("KVBENCH_DATA_DIR") +
                                        "/tokenizers/qwen3' '" + out.string() + "'");
    EXPECT_EQ(r.code, 0) << r.out;
    return out;
  }();
  return dir;
}

// The task: and model: sections of a CLI test config: LongBench multi_news (official protocol, the
// shared data, prompts cut to `max_length` tokens, the first `limit` samples or all when 0) on the
// model folder `model` in float32 on the CPU.
inline std::string multi_news_yaml(const std::filesystem::path& model, int max_length, int limit = 0) {
  return std::string("task:\n"
                     "  name: longbench.multi_news\n"
                     "  protocol: longbench.official\n") +
         (limit > 0 ? "  limit: " + std::to_string(limit) + "\n" : "") +
         "  data_root: " + env("KVBENCH_DATA_DIR") + "\n"
         "  params: {max_length: " + std::to_string(max_length) + "}\n"
         "model: {path: " + model.string() + ", dtype: float32, device: cpu}\n";
}

// Every row of every samples.jsonl under `root`, with the run directory holding it.
inline void for_each_sample_row(const std::filesystem::path& root,
                                const std::function<void(const std::filesystem::path& run_dir,
                                                         const nlohmann::json& row)>& visit) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().filename() != "samples.jsonl") continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) visit(entry.path().parent_path(), nlohmann::json::parse(line));
  }
}

}  // namespace kvbench::test
