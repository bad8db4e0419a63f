// SPDX-License-Identifier: Apache-2.0
// render_chart in a build configured with -DKVBENCH_PLOTS=OFF (no cairo; the GPU-machine build of
// scripts/gpu/setup_on_device.sh, whose machine has no cairo headers): every call is a clear
// error, so a report asked for plots there fails instead of silently leaving them out.
#include "reports/chart.h"

#include "harness/error.h"

namespace kvbench {
namespace {

[[noreturn]] void no_plots(const std::filesystem::path& stem) {
  KVBENCH_FAIL(ErrorKind::kUsage, stem.string(), ": this kvbench was built without plots (-DKVBENCH_PLOTS=OFF, "
               "no cairo); run `kvbench report` with a build from scripts/setup.sh");
}

}  // namespace

std::vector<std::filesystem::path> render_chart(const LineChart&, const std::filesystem::path& stem) { no_plots(stem); }
std::vector<std::filesystem::path> render_chart(const Heatmap&, const std::filesystem::path& stem) { no_plots(stem); }

}  // namespace kvbench
