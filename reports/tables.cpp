// SPDX-License-Identifier: Apache-2.0
#include "reports/tables.h"

#include <cmath>

namespace kvbench {
namespace {

using nlohmann::json;

std::vector<std::string> key_header(const ResultGrid& grid) {
  std::vector<std::string> header;
  for (const auto& f : grid.group_by) header.push_back(f);
  return header;
}

std::vector<TableCell> key_cells(const ResultGrid& grid, size_t r) {
  std::vector<TableCell> cells;
  for (size_t f = 0; f < grid.group_by.size(); ++f) {
    if (grid.group_by[f] == "budget") {
      TableCell c = text_cell(budget_text(grid.rows[r]));
      c.raw = grid.rows[r].key[f];  // CSV keeps the exact method params
      cells.push_back(c);
    } else {
      cells.push_back(text_cell(grid.rows[r].key[f]));
    }
  }
  return cells;
}

// Values of `field` (a dotted path such as "timing.ttft_ms") over the cell's scored rows.
std::vector<double> sample_values(const GridCell& cell, const json::json_pointer& field) {
  std::vector<double> xs;
  for (const RunRecord* run : cell.runs)
    for (const json* row : run->scored_rows())
      if (row->contains(field) && (*row)[field].is_number()) xs.push_back((*row)[field].get<double>());
  return xs;
}

double mean_or_nan(const std::vector<double>& xs) { return xs.empty() ? std::nan("") : mean_stderr(xs).mean; }
double max_or_nan(const std::vector<double>& xs) {
  if (xs.empty()) return std::nan("");
  double m = xs[0];
  for (double x : xs) m = std::max(m, x);
  return m;
}

TableCell number_cell(double value, int decimals, const std::string& flag) {
  TableCell c = text_cell(format_fixed(value, decimals) + (flag.empty() || std::isnan(value) ? "" : " [" + flag + "]"));
  c.raw = format_exact(value);
  c.flag = flag;
  return c;
}

TableCell missing_cell() {
  TableCell c = text_cell("- [missing]");
  c.flag = "missing";
  c.raw = "";
  return c;
}

const char* kStatusNote =
    "[partial]: some samples errored or were not run; [failed]/[incomplete]/[running]: the run did "
    "not finish (its recorded samples are shown); [missing]: no run for this cell; [mixed]: pooled "
    "runs of different protocols, data or kvbench versions (--allow-mixed).";

}  // namespace

std::string mib_text(double bytes) { return format_fixed(bytes / (1024.0 * 1024.0), 2); }

std::vector<ScoreColumn> score_columns(const ResultGrid& grid) {
  std::vector<ScoreColumn> columns;
  for (const auto& task : grid.tasks) {
    auto it = grid.task_scores.find(task);
    if (it == grid.task_scores.end() || it->second.empty()) {
      columns.push_back({task, "", task});  // nothing scored (failed runs): the cells show why
      continue;
    }
    for (const auto& score : it->second)
      columns.push_back({task, score, it->second.size() == 1 ? task : task + ": " + score});
  }
  return columns;
}

Table accuracy_table(const ResultGrid& grid) {
  Table t;
  t.id = "accuracy";
  t.title = "Accuracy: mean ± standard error (n samples) per task";
  t.header = key_header(grid);
  t.key_columns = t.header.size();
  const auto columns = score_columns(grid);
  for (const auto& c : columns) t.header.push_back(c.header);
  t.header.push_back("average");
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    std::vector<TableCell> row = key_cells(grid, r);
    std::vector<double> means;
    std::string average_flag;
    bool complete_row = true;
    for (const auto& c : columns) {
      const bool averaged = grid.task_scores.at(c.task).size() <= 1;
      const GridCell* cell = grid.cell(r, c.task);
      std::vector<double> xs = cell ? cell->scores(c.score) : std::vector<double>{};
      if (!cell || xs.empty()) {
        if (cell) {
          TableCell empty = text_cell("- [" + (cell->flag.empty() ? std::string("no scores") : cell->flag) + "]");
          empty.flag = cell->flag.empty() ? "no scores" : cell->flag;
          empty.raw = "";
          row.push_back(empty);
        } else {
          row.push_back(missing_cell());
        }
        if (averaged) complete_row = false;
        continue;
      }
      MeanStderr s = mean_stderr(xs);
      row.push_back(stat_cell(s, cell->flag));
      if (!averaged) continue;
      means.push_back(s.mean);
      if (!cell->flag.empty()) average_flag = "partial inputs";
    }
    if (complete_row && !means.empty()) {
      row.push_back(number_cell(mean_or_nan(means), 4, average_flag));
    } else {
      TableCell c = text_cell("-");
      c.raw = "";
      c.flag = "incomplete row";
      row.push_back(c);
    }
    t.rows.push_back(row);
  }
  std::string several;
  for (const auto& [task, names] : grid.task_scores)
    if (names.size() > 1) several += (several.empty() ? "" : ", ") + task;
  t.notes.push_back("average: unweighted mean of the task means, only over rows with every task present" +
                    (several.empty() ? std::string(".")
                                     : "; tasks with several scores (" + several + ") are left out of it."));
  t.notes.push_back("budget: kv.budget_total (tokens a layer keeps, mean over layers and samples) and its share "
                    "of the mean prompt length, averaged over the row's tasks.");
  t.notes.push_back(kStatusNote);
  t.notes.insert(t.notes.end(), grid.notes.begin(), grid.notes.end());
  return t;
}

Table delta_table(const ResultGrid& grid) {
  Table t;
  t.id = "delta";
  t.title = "Δ vs full cache: difference of task means (method − full cache of the same model)";
  t.header = key_header(grid);
  t.key_columns = t.header.size();
  const auto columns = score_columns(grid);
  for (const auto& c : columns) t.header.push_back(c.header);
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    std::vector<TableCell> row = key_cells(grid, r);
    long ref = grid.reference_row(r);
    for (const auto& c : columns) {
      const GridCell* cell = grid.cell(r, c.task);
      const GridCell* base = ref >= 0 ? grid.cell(static_cast<size_t>(ref), c.task) : nullptr;
      std::vector<double> xs = cell ? cell->scores(c.score) : std::vector<double>{};
      std::vector<double> bs = base ? base->scores(c.score) : std::vector<double>{};
      if (xs.empty() || bs.empty()) {
        TableCell missing = text_cell(ref < 0 ? "- [no full cache]" : "- [missing]");
        missing.raw = "";
        missing.flag = ref < 0 ? "no full cache" : "missing";
        row.push_back(missing);
        continue;
      }
      double delta = mean_stderr(xs).mean - mean_stderr(bs).mean;
      std::string flag = !cell->flag.empty() ? cell->flag : base->flag;
      char sign = delta > 0 ? '+' : (delta < 0 ? '-' : ' ');
      TableCell d = text_cell(std::string(1, sign) + format_fixed(std::fabs(delta), 4) +
                              (flag.empty() ? "" : " [" + flag + "]"));
      if (sign == ' ') d.text = format_fixed(0.0, 4) + (flag.empty() ? "" : " [" + flag + "]");
      d.raw = format_exact(delta);
      d.flag = flag;
      row.push_back(d);
    }
    t.rows.push_back(row);
  }
  t.notes.push_back(kStatusNote);
  return t;
}

Table latency_table(const ResultGrid& grid) {
  Table t;
  t.id = "latency";
  t.title = "Latency (ms): time to first token and time per output token, percentiles over samples";
  t.header = key_header(grid);
  t.header.push_back("task");
  t.key_columns = t.header.size();
  for (const char* h : {"n", "TTFT p50", "TTFT p90", "TTFT p99", "TPOT p50", "TPOT p90", "TPOT p99"})
    t.header.push_back(h);
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    for (const auto& task : grid.tasks) {
      const GridCell* cell = grid.cell(r, task);
      if (!cell) continue;
      std::vector<TableCell> row = key_cells(grid, r);
      row.push_back(text_cell(task));
      auto ttft = sample_values(*cell, "/timing/ttft_ms"_json_pointer);
      auto tpot = sample_values(*cell, "/timing/tpot_ms"_json_pointer);
      row.push_back(text_cell(std::to_string(ttft.size()) + (cell->flag.empty() ? "" : " [" + cell->flag + "]")));
      row.back().raw = std::to_string(ttft.size());
      row.back().flag = cell->flag;
      for (auto* xs : {&ttft, &tpot})
        for (double q : {0.5, 0.9, 0.99})
          row.push_back(number_cell(xs->empty() ? std::nan("") : percentile(*xs, q), 2, ""));
      t.rows.push_back(row);
    }
  }
  t.notes.push_back("Percentiles interpolate linearly between samples (numpy's default); n counts scored samples.");
  t.notes.push_back(kStatusNote);
  return t;
}

Table memory_table(const ResultGrid& grid) {
  Table t;
  t.id = "memory";
  t.title = "Memory: KV cache and its metadata per sample (MiB), on the device each run used";
  t.header = key_header(grid);
  t.header.push_back("task");
  t.header.push_back("device");
  t.key_columns = t.header.size();
  for (const char* h : {"n", "peak device MiB", "KV device MiB", "metadata device MiB", "KV host MiB",
                        "H2D MiB/step"})
    t.header.push_back(h);
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    for (const auto& task : grid.tasks) {
      const GridCell* cell = grid.cell(r, task);
      if (!cell) continue;
      std::string device;
      for (const RunRecord* run : cell->runs)
        if (device.find(run->device) == std::string::npos) device += (device.empty() ? "" : ",") + run->device;
      std::vector<TableCell> row = key_cells(grid, r);
      row.push_back(text_cell(task));
      row.push_back(text_cell(device.empty() ? "unknown" : device));
      auto peak = sample_values(*cell, "/kv/peak_device_bytes_total"_json_pointer);
      row.push_back(text_cell(std::to_string(peak.size()) + (cell->flag.empty() ? "" : " [" + cell->flag + "]")));
      row.back().raw = std::to_string(peak.size());
      row.back().flag = cell->flag;
      // Peak: the largest over samples; the others: means over samples. CSV keeps exact bytes.
      const double values[] = {max_or_nan(peak),
                               mean_or_nan(sample_values(*cell, "/kv/kv_row_device_bytes"_json_pointer)),
                               mean_or_nan(sample_values(*cell, "/kv/metadata_device_bytes"_json_pointer)),
                               mean_or_nan(sample_values(*cell, "/kv/host_bytes_total"_json_pointer)),
                               mean_or_nan(sample_values(*cell, "/kv/host_to_device_bytes_per_step_mean"_json_pointer))};
      for (double v : values) {
        TableCell c = text_cell(mib_text(v));
        c.raw = format_exact(v);
        row.push_back(c);
      }
      t.rows.push_back(row);
    }
  }
  t.notes.push_back("peak: largest per-sample kv.peak_device_bytes_total; other columns: means over samples. "
                    "CSV columns hold bytes.");
  t.notes.push_back(kStatusNote);
  return t;
}

Table runs_table(const std::vector<RunRecord>& runs) {
  Table t;
  t.id = "runs";
  t.title = "Runs";
  t.header = {"run", "status", "selected", "scored", "errors", "missing", "budget", "device", "protocol",
              "dataset sha256", "kvbench", "directory"};
  t.key_columns = 2;
  for (const auto& run : runs) {
    std::vector<TableCell> row = {text_cell(run.label), text_cell(run.status), text_cell(std::to_string(run.selected)),
                                  text_cell(std::to_string(run.scored)), text_cell(std::to_string(run.errors)),
                                  text_cell(std::to_string(run.missing)), text_cell(budget_text(run)),
                                  text_cell(run.device), text_cell(run.protocol),
                                  text_cell(run.dataset_sha256.substr(0, 12)), text_cell(run.kvbench_version),
                                  text_cell(run.dir.string())};
    row[1].flag = run.is_clean() ? "" : run.status;
    t.rows.push_back(row);
  }
  return t;
}

}  // namespace kvbench
