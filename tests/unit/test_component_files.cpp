// SPDX-License-Identifier: Apache-2.0
// Every registered method, task and metric comes with its test and its config file:
//   a test source under tests/ that names it (its registered name in double quotes), and
//   configs/methods/<name>.yaml, configs/tasks/<name>.yaml or configs/metrics/<name>.yaml;
// method and metric config files hold exactly the registered defaults.
#include "harness/config_document.h"
#include "harness/params.h"
#include "harness/registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace kvbench {
namespace {

std::filesystem::path source_dir() { return KVBENCH_SOURCE_DIR; }

std::string stem_of(const CatalogEntry& entry) {
  return std::filesystem::path(entry.extra.value("source_file", "")).stem().string();
}

// Concatenated text of every test source file.
const std::string& test_sources() {
  static const std::string text = [] {
    std::string all;
    for (const auto& e : std::filesystem::recursive_directory_iterator(source_dir() / "tests")) {
      if (e.path().extension() != ".cpp" && e.path().extension() != ".h") continue;
      std::ifstream in(e.path());
      all += std::string(std::istreambuf_iterator<char>(in), {}) + "\n";
    }
    return all;
  }();
  return text;
}

TEST(ComponentFiles, EveryComponentHasItsTestAndConfig) {
  const std::pair<const char*, const char*> kinds[] = {
      {"method", "configs/methods"}, {"task", "configs/tasks"}, {"metric", "configs/metrics"}};
  size_t checked = 0;
  for (const auto& [kind, config_dir] : kinds) {
    for (const auto& [name, entry] : catalog()[kind]) {
      ASSERT_TRUE(entry.extra.contains("source_file")) << kind << " " << name;
      EXPECT_NE(test_sources().find("\"" + name + "\""), std::string::npos)
          << kind << " '" << name << "' (" << entry.extra["source_file"] << ") is named by no test under tests/";
      auto config = source_dir() / config_dir / (name + ".yaml");
      EXPECT_TRUE(std::filesystem::exists(config)) << kind << " '" << name << "' has no config " << config;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
  std::cout << "checked " << checked << " registered components\n";
}

TEST(ComponentFiles, MethodAndMetricConfigsHoldTheRegisteredDefaults) {
  for (const char* kind : {"method", "metric"}) {
  for (const auto& [name, entry] : catalog()[kind]) {
    auto path = source_dir() / (std::string("configs/") + kind + "s") / (name + ".yaml");
    if (!std::filesystem::exists(path)) continue;  // reported by the test above
    ConfigDocument doc = load_config_document(path);
    EXPECT_EQ(doc.value[kind]["name"], name) << path;
    nlohmann::json params = doc.value[kind].value("params", nlohmann::json::object());
    // Same keys and values as the registered spec (numbers compared as numbers).
    nlohmann::json defaults = default_params(entry.params);
    EXPECT_EQ(params.size(), defaults.size()) << path << ": " << params.dump() << " vs " << defaults.dump();
    for (const auto& [key, value] : defaults.items()) {
      ASSERT_TRUE(params.contains(key)) << path << " lacks method.params." << key;
      if (value.is_number())
        EXPECT_DOUBLE_EQ(params[key].get<double>(), value.get<double>()) << path << " " << key;
      else
        EXPECT_EQ(params[key], value) << path << " " << key;
    }
  }
  }
}

}  // namespace
}  // namespace kvbench
