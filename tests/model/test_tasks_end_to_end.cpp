// SPDX-License-Identifier: Apache-2.0
// Every registered task end to end through `kvbench run configs/tasks/<task>.yaml` (one sample,
// 4 new tokens) on a tiny random Qwen3 model that carries the real Qwen3 tokenizer and chat
// template (tests/support/make_tiny_chat_model.py). Per task: the run completes, metrics.json
// holds one scored sample and no error, and each of the task's metrics, recomputed here on the
// recorded prediction, gives exactly the recorded scores. A task whose data file is not available
// offline must instead fail with exit code 2 and a message naming the missing path under the data
// root. The task list comes from the registry, so tasks added later are covered automatically.
#include "harness/task/task.h"
#include "harness/task/metric.h"
#include "harness/params.h"
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using kvbench::test::env;
using Result = kvbench::test::CommandResult;
constexpr auto* run = &kvbench::test::run_command;

constexpr auto* read_json = &kvbench::test::read_json_file;

const fs::path& tiny_model() { return kvbench::test::tiny_chat_model(); }

// Absolute paths mentioned in `text` (up to a space, quote, comma or parenthesis).
std::vector<std::string> paths_in(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '/' || (i > 0 && text[i - 1] != ' ' && text[i - 1] != '\'' && text[i - 1] != '(')) continue;
    size_t end = text.find_first_of(" '\"),;\n", i);
    std::string path = text.substr(i, end == std::string::npos ? std::string::npos : end - i);
    while (!path.empty() && (path.back() == '.' || path.back() == ':')) path.pop_back();
    out.push_back(path);
    i = end == std::string::npos ? text.size() : end;
  }
  return out;
}

class TaskEndToEnd : public ::testing::TestWithParam<std::string> {};

TEST_P(TaskEndToEnd, RunsOrNamesTheMissingDataFile) {
  const std::string task = GetParam();
  const std::string source = env("KVBENCH_SOURCE_DIR", KVBENCH_SOURCE_DIR);
  const fs::path config = fs::path(source) / "configs" / "tasks" / (task + ".yaml");
  ASSERT_TRUE(fs::exists(config)) << "every task needs " << config;
  const fs::path out = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "tasks_end_to_end" / task;
  run("rm -rf '" + out.string() + "'");
  const std::string command = env("KVBENCH_BINARY", "kvbench") + " run '" + config.string() +
                              "' --limit 1 --no-progress --out '" + out.string() + "' --set model.path='" +
                              tiny_model().string() + "' --set model.dtype=float32 --set model.device=cpu" +
                              " --set generation.max_new_tokens=4";
  const auto start = std::chrono::steady_clock::now();
  Result r = run(command);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << task << ": exit " << r.code << " in " << seconds << " s\n";

  if (r.code == 2 && r.out.find("not found") != std::string::npos) {
    // Data not available offline: the error names a path under the data root that does not exist.
    const std::string data_root = fs::weakly_canonical(env("KVBENCH_DATA_DIR")).string();
    bool named = false;
    for (const auto& path : paths_in(r.out))
      if (!fs::exists(path) && fs::weakly_canonical(path).string().rfind(data_root, 0) == 0) named = true;
    EXPECT_TRUE(named) << "a missing-data error must name the missing file under " << data_root << ":\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one-line error expected:\n" << r.out;
    return;
  }
  ASSERT_EQ(r.code, 0) << command << "\n" << r.out;

  fs::path run_dir;
  for (const auto& e : fs::recursive_directory_iterator(out))
    if (e.path().filename() == "metrics.json") run_dir = e.path().parent_path();
  ASSERT_FALSE(run_dir.empty()) << "no metrics.json under " << out;
  json metrics = read_json(run_dir / "metrics.json");
  EXPECT_EQ(metrics["n_samples"]["selected"], 1) << metrics.dump();
  EXPECT_EQ(metrics["n_samples"]["scored"], 1) << metrics.dump();
  EXPECT_EQ(metrics["n_samples"]["errors"], 0) << metrics.dump();
  EXPECT_EQ(metrics["run"]["task"], task);
  EXPECT_EQ(read_json(run_dir / "run.json")["status"], "complete");

  // The task's metrics, recomputed on the recorded sample, give the recorded scores.
  json resolved = read_json(run_dir / "config.json");
  std::ifstream rows(run_dir / "samples.jsonl");
  std::string line;
  ASSERT_TRUE(static_cast<bool>(std::getline(rows, line)));
  json row = json::parse(line);
  ASSERT_TRUE(row["error"].is_null()) << row.dump();
  const auto* entry = TaskRegistry::instance().find(task);
  ASSERT_NE(entry, nullptr);
  TaskContext context;
  context.protocol = resolved["task"]["protocol"].get<std::string>();
  context.params = resolved["task"]["params"];
  auto instance = entry->make(resolved["task"]["params"]);
  const auto names = instance->metrics(context);
  ASSERT_FALSE(names.empty());
  size_t checked = 0;
  for (const auto& name : names) {
    const auto* metric_entry = MetricRegistry::instance().find(name);
    ASSERT_NE(metric_entry, nullptr) << name;
    auto metric = metric_entry->make(default_params(metric_entry->params));
    for (const auto& [key, value] : metric->score(row["prediction"].get<std::string>(),
                                                  row["references"].get<std::vector<std::string>>(),
                                                  row["metadata"])) {
      ASSERT_TRUE(row["scores"].contains(key)) << name << " score " << key << " not recorded: " << row.dump();
      EXPECT_EQ(row["scores"][key].get<double>(), value) << key;
      ASSERT_TRUE(metrics["scores"].contains(key)) << key << " missing from metrics.json";
      EXPECT_EQ(metrics["scores"][key]["n"], 1) << key;
      EXPECT_EQ(metrics["scores"][key]["mean"].get<double>(), value) << key;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

INSTANTIATE_TEST_SUITE_P(Registered, TaskEndToEnd, ::testing::ValuesIn(TaskRegistry::instance().names()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace kvbench
