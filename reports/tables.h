// SPDX-License-Identifier: Apache-2.0
// The report's tables, built from a ResultGrid (and the runs behind it):
//   accuracy  rows x tasks, each cell mean ± stderr (n) of the pooled per-sample scores, plus the
//             row average (unweighted mean of the task means, "-" if a cell is missing);
//   delta     the same minus the full-cache row of the same model (difference of means);
//   latency   TTFT and TPOT p50/p90/p99 (ms) per row and task, from samples.jsonl timing;
//   memory    peak device bytes, KV device/host bytes, host-to-device bytes per decode step, per
//             row and task, naming the device;
//   runs      one row per run: label, status, counts, device, directory.
// Flagged cells (partial, failed, incomplete, mixed) show the flag in their text.
#pragma once

#include "reports/result_grid.h"
#include "reports/table.h"

#include <vector>

namespace kvbench {

// Columns of the accuracy table: one per (task, score); the header is the task alone when the task
// has one score, else "task: score".
struct ScoreColumn {
  std::string task, score, header;
};
std::vector<ScoreColumn> score_columns(const ResultGrid& grid);

Table accuracy_table(const ResultGrid& grid);
Table delta_table(const ResultGrid& grid);
Table latency_table(const ResultGrid& grid);
Table memory_table(const ResultGrid& grid);
Table runs_table(const std::vector<RunRecord>& runs);

// Text of a byte count in MiB with two decimals ("-" for NaN).
std::string mib_text(double bytes);

}  // namespace kvbench
