// SPDX-License-Identifier: Apache-2.0
// A report table independent of its output format: a title, key columns, value columns and rows of
// cells. A cell carries its display text, the raw value CSV writes, and optionally a statistic
// (mean, stderr, n) which CSV splits into columns. Renderers: markdown and CSV here, LaTeX in
// reports/latex.h, HTML in reports/html_report.h.
#pragma once

#include "reports/stats.h"

#include <optional>
#include <string>
#include <vector>

namespace kvbench {

struct TableCell {
  std::string text;                 // what markdown/LaTeX/HTML show
  std::string raw;                  // what CSV writes (defaults to text)
  std::optional<MeanStderr> stat;   // CSV: <column>_mean, <column>_stderr, <column>_n
  std::string flag;                 // run-state mark: "" | partial | failed | missing | ...
};

struct Table {
  std::string id;       // file stem: accuracy, delta, latency, memory, runs
  std::string title;
  std::vector<std::string> header;
  size_t key_columns = 0;  // leading columns that identify the row (left-aligned)
  std::vector<std::vector<TableCell>> rows;
  std::vector<std::string> notes;  // printed under the table
};

TableCell text_cell(const std::string& text);
// "0.5000 ± 0.1000 (n=20)", with " [flag]" when flagged.
TableCell stat_cell(const MeanStderr& s, const std::string& flag = "", int decimals = 4);
// Number with fixed decimals; NaN prints as "-".
std::string format_fixed(double value, int decimals);
// Shortest-safe round-trip text of a double ("%.17g"); NaN prints as "".
std::string format_exact(double value);

std::string to_markdown(const Table& table);
std::string to_csv(const Table& table);
// One CSV field, quoted when it holds a comma, quote or newline (RFC 4180).
std::string csv_field(const std::string& text);

}  // namespace kvbench
