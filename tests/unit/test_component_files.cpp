// SPDX-License-Identifier: Apache-2.0
// Every registered method, task and metric comes with its test and its config file:
//   method  N (methods/*.cpp)  -> tests/methods/test_N.cpp,   configs/methods/N.yaml
//   task    T (datasets/F.cpp) -> tests/datasets/test_F.cpp,  configs/tasks/T.yaml
//   metric  M (metrics/F.cpp)  -> tests/metrics/test_F.cpp,   configs/metrics/F.yaml
// and every method's config file holds exactly its registered defaults.
#include "harness/config_document.h"
#include "harness/params.h"
#include "harness/registry.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace kvbench {
namespace {

std::filesystem::path source_dir() { return KVBENCH_SOURCE_DIR; }

std::string stem_of(const CatalogEntry& entry) {
  return std::filesystem::path(entry.extra.value("source_file", "")).stem().string();
}

TEST(ComponentFiles, EveryComponentHasItsTestAndConfig) {
  struct Rule {
    const char* kind;
    const char* test_dir;
    const char* config_dir;
    bool test_by_name;    // tests/<dir>/test_<name>.cpp (else test_<source stem>.cpp)
    bool config_by_name;  // configs/<dir>/<name>.yaml (else <source stem>.yaml)
  };
  const Rule rules[] = {{"method", "tests/methods", "configs/methods", true, true},
                        {"task", "tests/datasets", "configs/tasks", false, true},
                        {"metric", "tests/metrics", "configs/metrics", false, false}};
  size_t checked = 0;
  for (const auto& rule : rules) {
    for (const auto& [name, entry] : catalog()[rule.kind]) {
      ASSERT_TRUE(entry.extra.contains("source_file")) << rule.kind << " " << name;
      std::string stem = stem_of(entry);
      auto test = source_dir() / rule.test_dir / ("test_" + (rule.test_by_name ? name : stem) + ".cpp");
      auto config = source_dir() / rule.config_dir / ((rule.config_by_name ? name : stem) + ".yaml");
      EXPECT_TRUE(std::filesystem::exists(test)) << rule.kind << " '" << name << "' has no test " << test;
      EXPECT_TRUE(std::filesystem::exists(config))
          << rule.kind << " '" << name << "' has no config " << config;
      ++checked;
    }
  }
  std::cout << "checked " << checked << " registered components\n";
}

TEST(ComponentFiles, MethodConfigsHoldTheRegisteredDefaults) {
  for (const auto& [name, entry] : catalog()["method"]) {
    auto path = source_dir() / "configs/methods" / (name + ".yaml");
    if (!std::filesystem::exists(path)) continue;  // reported by the test above
    ConfigDocument doc = load_config_document(path);
    EXPECT_EQ(doc.value["method"]["name"], name) << path;
    nlohmann::json params = doc.value["method"].value("params", nlohmann::json::object());
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

}  // namespace
}  // namespace kvbench
