// SPDX-License-Identifier: Apache-2.0
// The report's figures, each as SVG, PNG and PDF under <out>/plots/:
//   accuracy_vs_budget__<task>   score vs KV budget (% of prompt), one line per model/method, the
//                                full cache as a dashed reference line;
//   niah_heatmap__<run>          NIAH depth x context length, mean score per cell (gkamradt figure),
//                                for every run whose samples carry context_length and depth_percent;
//   ttft_vs_context, tpot_vs_context   latency vs prompt tokens, one line per model/method/budget;
//   memory_vs_context            peak KV device MiB vs prompt tokens, one line per model/method/budget.
#pragma once

#include "reports/result_grid.h"

#include <filesystem>
#include <string>
#include <vector>

namespace kvbench {

struct PlotFile {
  std::string kind;   // accuracy_vs_budget | niah_heatmap | ttft_vs_context | tpot_vs_context | memory_vs_context
  std::string title;
  std::filesystem::path stem;  // without extension; .svg .png .pdf exist
};

std::vector<PlotFile> write_plots(const ResultGrid& grid, const std::vector<RunRecord>& runs,
                                  const std::filesystem::path& plots_dir);

// File-name-safe form of a label ("/", spaces and the like become "_").
std::string file_safe(const std::string& text);

}  // namespace kvbench
