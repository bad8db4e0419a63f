// SPDX-License-Identifier: Apache-2.0
// CI canary: `kvbench run configs/ci/canary.yaml` end to end (CLI, config, engine, tokenizer, chat
// template, model, KV method, scorer, run store) on the embedded model, and the accuracy it
// measured compared with the stored baseline reports/baselines/canary.json within its explicit
// tolerance. Skips when setup has not converted the embedded model.
#include "harness/run/run_config.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace kvbench {
namespace {

using nlohmann::json;

TEST(Canary, EmbeddedModelAccuracyMatchesBaseline) {
  const std::string model = expand_env("${KVBENCH_CACHE}/models/smollm2-135m-instruct");
  if (!std::filesystem::exists(model + "/config.json"))
    GTEST_SKIP() << "embedded model not converted (run scripts/setup.sh): " << model;
  const std::string source = KVBENCH_SOURCE_DIR;
  const std::string out = std::string(std::getenv("KVBENCH_TEST_TMP")) + "/canary";
  ASSERT_EQ(std::system(("rm -rf '" + out + "'").c_str()), 0);
  const std::string cmd = std::string(std::getenv("KVBENCH_BINARY")) + " run '" + source +
                          "/configs/ci/canary.yaml' --no-progress --out '" + out + "'";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd;

  json baseline = json::parse(std::ifstream(source + "/reports/baselines/canary.json"));
  std::filesystem::path metrics_path;
  for (const auto& e : std::filesystem::recursive_directory_iterator(out))
    if (e.path().filename() == "metrics.json") metrics_path = e.path();
  ASSERT_FALSE(metrics_path.empty()) << "no metrics.json under " << out;
  json metrics = json::parse(std::ifstream(metrics_path));
  EXPECT_EQ(metrics["n_samples"]["scored"], baseline["n_scored"]);
  EXPECT_EQ(metrics["n_samples"]["errors"], 0);
  for (const auto& [name, expected] : baseline["scores"].items()) {
    ASSERT_TRUE(metrics["scores"].contains(name)) << name;
    double got = metrics["scores"][name]["mean"].get<double>();
    EXPECT_LE(std::abs(got - expected["mean"].get<double>()), expected["tolerance"].get<double>())
        << name << ": measured " << got << ", baseline " << expected["mean"] << " +- "
        << expected["tolerance"] << " (" << metrics_path.string() << ")";
  }
}

}  // namespace
}  // namespace kvbench
