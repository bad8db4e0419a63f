// SPDX-License-Identifier: Apache-2.0
// The results subcommands of the kvbench CLI: report (tables, plots, HTML, exports from run
// directories), compare (regression verdicts, exit 0/1/2) and rescore (scores and metrics.json
// again from stored predictions). Each returns the process exit code; errors throw kvbench::Error.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace kvbench {

struct ReportArgs {
  std::vector<std::string> runs;
  std::string out = "report";
  std::string formats;  // empty = all
  std::string group_by = "model,method,budget";
  bool allow_mixed = false;
};

struct CompareArgs {
  std::string base, candidate;
  std::string fail_on = "accuracy,latency,memory";
  double alpha = 0.05;
  size_t resamples = 10000;
  uint32_t seed = 0;
  double accuracy_tolerance = 0, latency_tolerance = 0.10, memory_tolerance = 0;
  std::string json_out;
};

struct RescoreArgs {
  std::vector<std::string> runs;
};

CLI::App* add_report_command(CLI::App& app, ReportArgs& args);
CLI::App* add_compare_command(CLI::App& app, CompareArgs& args);
CLI::App* add_rescore_command(CLI::App& app, RescoreArgs& args);

int run_report_command(const ReportArgs& args);
int run_compare_command(const CompareArgs& args);
int run_rescore_command(const RescoreArgs& args);

}  // namespace kvbench
