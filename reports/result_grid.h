// SPDX-License-Identifier: Apache-2.0
// Runs arranged in the study's shape: rows = the --group-by fields (default model x method x
// budget, the budget being the method's params), columns = tasks, a cell = every run of that row
// and task (shards and repeats pool their samples). A cell whose runs differ in protocol, dataset
// hash or kvbench version is an error unless mixing is allowed; a cell with a run that is not
// complete carries that run's status as its flag, so no table averages it silently.
#pragma once

#include "reports/run_index.h"

#include <map>
#include <string>
#include <vector>

namespace kvbench {

// Row-key fields --group-by accepts.
const std::vector<std::string>& group_by_fields();
std::vector<std::string> parse_group_by(const std::string& list);  // kUsage error on unknown fields

struct GridRow {
  std::vector<std::string> key;          // one value per group-by field ("budget": method params)
  std::string model, method;             // "" when not a group-by field
  bool full_cache = false;               // method "full": the reference of the delta table
  double budget_tokens = std::nan("");   // mean of the row's runs that recorded budgets
  double budget_percent = std::nan("");
};

struct GridCell {
  std::vector<const RunRecord*> runs;
  std::string flag;   // "" when every run is complete, else the worst status (failed > partial > ...)
  std::vector<double> scores(const std::string& score_name) const;  // pooled over scored rows
};

struct ResultGrid {
  std::vector<std::string> group_by;
  std::vector<GridRow> rows;
  std::vector<std::string> tasks;                                 // sorted
  std::map<std::string, std::vector<std::string>> task_scores;    // score names per task, sorted
  std::map<std::pair<size_t, std::string>, GridCell> cells;       // (row, task)
  std::vector<std::string> notes;                                 // e.g. mixed cells when allowed

  const GridCell* cell(size_t row, const std::string& task) const;
  // Index of the full-cache row for `row` (same key except method/budget), or -1.
  long reference_row(size_t row) const;
};

// The grid points into `runs`, which must outlive it (hence no temporaries).
ResultGrid build_grid(const std::vector<RunRecord>& runs, const std::vector<std::string>& group_by,
                      bool allow_mixed);
ResultGrid build_grid(std::vector<RunRecord>&& runs, const std::vector<std::string>& group_by,
                      bool allow_mixed) = delete;

// Display text of a row's budget: "512 tok (25.0%)", "full" for the full cache, "-" if unknown.
std::string budget_text(const GridRow& row);
// The budget of one run, same format.
std::string budget_text(const RunRecord& run);

}  // namespace kvbench
