// SPDX-License-Identifier: Apache-2.0
#include "reports/export_kvpress.h"

#include "reports/stats.h"
#include "reports/table.h"

#include <cmath>

namespace kvbench {

std::string kvpress_csv(const ResultGrid& grid) {
  std::string out = "model,method,press,method_params,compression_ratio,budget_tokens,budget_percent,"
                    "dataset,metric,score,stderr,n,status\n";
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    for (const auto& task : grid.tasks) {
      const GridCell* cell = grid.cell(r, task);
      auto names = grid.task_scores.find(task);
      if (!cell || names == grid.task_scores.end()) continue;
      const RunRecord& first = *cell->runs.front();
      double ratio = grid.rows[r].full_cache ? 0.0
                     : std::isnan(grid.rows[r].budget_percent) ? std::nan("")
                                                               : 1.0 - grid.rows[r].budget_percent / 100.0;
      for (const auto& score : names->second) {
        std::vector<double> xs = cell->scores(score);
        if (xs.empty()) continue;
        MeanStderr s = mean_stderr(xs);
        out += csv_field(first.model) + "," + csv_field(first.method) + "," + csv_field(first.method) + "," +
               csv_field(first.method_params) + "," + format_exact(ratio) + "," +
               format_exact(grid.rows[r].budget_tokens) + "," + format_exact(grid.rows[r].budget_percent) + "," +
               csv_field(task) + "," + csv_field(score) + "," + format_exact(s.mean) + "," +
               format_exact(s.stderr_) + "," + std::to_string(s.n) + "," +
               csv_field(cell->flag.empty() ? "complete" : cell->flag) + "\n";
      }
    }
  }
  return out;
}

}  // namespace kvbench
