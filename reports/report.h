// SPDX-License-Identifier: Apache-2.0
// `kvbench report`: runs -> every output in one folder.
//   md      tables.md              (accuracy, delta vs full cache, latency, memory, runs)
//   tex     tables.tex             (booktabs table floats) + tables_document.tex (compilable)
//   csv     <table>.csv            (statistics split into _mean/_stderr/_n/_flag columns)
//   json    results.jsonl          (tidy: one line per run and metric)
//   plots   plots/*.svg|png|pdf
//   html    report.html            (self-contained; implies the plots)
//   lmeval  lm_eval/results_*.json (lm-evaluation-harness results shape)
//   kvpress kvpress.csv
#pragma once

#include "reports/run_index.h"

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace kvbench {

struct ReportOptions {
  std::filesystem::path out_dir = "report";
  std::set<std::string> formats;          // empty = all
  std::vector<std::string> group_by = {"model", "method", "budget"};
  bool allow_mixed = false;
};

const std::vector<std::string>& report_formats();
std::set<std::string> parse_formats(const std::string& list);  // kUsage error on unknown names

struct ReportOutput {
  std::vector<std::filesystem::path> files;  // everything written
  std::string accuracy_markdown;            // for the console
};

ReportOutput write_report(const std::vector<RunRecord>& runs, const ReportOptions& options);

}  // namespace kvbench
