// SPDX-License-Identifier: Apache-2.0
// The CI gate as a CI job runs it: `kvbench run configs/ci/report_sweep.yaml` on the embedded model
// (CPU, fp32), then `kvbench compare reports/baselines/report_sweep_cpu <runs> --fail-on
// accuracy,memory` must exit 0 (latency is not gated: shared CI machines vary). Skips when setup
// has not converted the embedded model. A few CPU minutes, hence the slow label.
#include "harness/run/run_config.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace kvbench {
namespace {

std::pair<int, std::string> run(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(ReportBaseline, SweepOnTheEmbeddedModelDoesNotRegressAgainstTheStoredBaseline) {
  const std::string model = expand_env("${KVBENCH_CACHE}/models/smollm2-135m-instruct");
  if (!std::filesystem::exists(model + "/config.json"))
    GTEST_SKIP() << "embedded model not converted (run scripts/setup.sh): " << model;
  const std::string source = KVBENCH_SOURCE_DIR;
  const std::string out = std::string(std::getenv("KVBENCH_TEST_TMP")) + "/report_baseline";
  ASSERT_EQ(std::system(("rm -rf '" + out + "'").c_str()), 0);
  auto [code, log] = run(std::string(std::getenv("KVBENCH_BINARY")) + " run '" + source +
                         "/configs/ci/report_sweep.yaml' --no-progress --set model.device=cpu --out '" + out + "'");
  ASSERT_EQ(code, 0) << log;
  auto [verdict, summary] = run(std::string(std::getenv("KVBENCH_BINARY")) + " compare '" + source +
                                "/reports/baselines/report_sweep_cpu' '" + out + "' --fail-on accuracy,memory");
  EXPECT_EQ(verdict, 0) << summary;
  std::cout << summary;
}

}  // namespace
}  // namespace kvbench
