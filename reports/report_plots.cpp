// SPDX-License-Identifier: Apache-2.0
#include "reports/report_plots.h"

#include "reports/chart.h"
#include "reports/stats.h"
#include "reports/table.h"
#include "reports/tables.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string row_name(const ResultGrid& grid, size_t r, bool with_budget) {
  std::string name;
  for (size_t f = 0; f < grid.group_by.size(); ++f) {
    bool same_everywhere = true;  // a field every row shares (one model) goes to no legend entry
    for (const auto& row : grid.rows) same_everywhere = same_everywhere && row.key[f] == grid.rows[r].key[f];
    if (same_everywhere && grid.group_by[f] != "method") continue;
    if (grid.group_by[f] == "budget") {
      if (with_budget && !grid.rows[r].full_cache) name += (name.empty() ? "" : " ") + budget_text(grid.rows[r]);
      continue;
    }
    name += (name.empty() ? "" : " ") + grid.rows[r].key[f];
  }
  return name.empty() ? "all" : name;
}

// Prompt lengths rounded to two significant digits (759, 760 and 761 tokens -> 760), so samples of
// nearly the same length form one point instead of a zigzag.
double length_bucket(double tokens) {
  if (tokens <= 0) return tokens;
  double unit = std::pow(10.0, std::floor(std::log10(tokens)) - 1);
  return std::round(tokens / unit) * unit;
}

// Mean of `field` per prompt-length bucket over the row's scored samples (all tasks).
std::vector<std::pair<double, double>> by_context(const ResultGrid& grid, size_t r, const json::json_pointer& field,
                                                  double scale) {
  std::map<double, std::vector<double>> values;
  for (const auto& task : grid.tasks) {
    const GridCell* cell = grid.cell(r, task);
    if (!cell) continue;
    for (const RunRecord* run : cell->runs)
      for (const json* row : run->scored_rows())
        if (row->contains(field) && (*row)[field].is_number() && row->contains("input_tokens"))
          values[length_bucket((*row)["input_tokens"].get<double>())].push_back((*row)[field].get<double>() * scale);
  }
  std::vector<std::pair<double, double>> points;
  for (const auto& [x, ys] : values) points.push_back({x, mean_stderr(ys).mean});
  return points;
}

}  // namespace

std::string file_safe(const std::string& text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  return out;
}

std::vector<PlotFile> write_plots(const ResultGrid& grid, const std::vector<RunRecord>& runs, const fs::path& dir) {
  fs::create_directories(dir);
  std::vector<PlotFile> plots;

  for (const auto& column : score_columns(grid)) {
    LineChart chart;
    chart.title = "Accuracy vs KV budget: " + column.header;
    chart.x_label = "KV budget (% of prompt tokens, mean over layers)";
    chart.y_label = column.score;
    std::map<std::string, ChartSeries> series;
    for (size_t r = 0; r < grid.rows.size(); ++r) {
      const GridCell* cell = grid.cell(r, column.task);
      if (!cell) continue;
      std::vector<double> xs = cell->scores(column.score);
      if (xs.empty()) continue;
      double mean = mean_stderr(xs).mean;
      if (grid.rows[r].full_cache) {
        std::string name = row_name(grid, r, false);
        chart.references.push_back({name == "full" ? "full cache" : name + " (full cache)", mean});
      } else if (!std::isnan(grid.rows[r].budget_percent)) {
        auto& s = series[row_name(grid, r, false)];
        s.name = row_name(grid, r, false);
        s.points.push_back({grid.rows[r].budget_percent, mean});
      }
    }
    for (auto& [name, s] : series) chart.series.push_back(s);
    PlotFile p{"accuracy_vs_budget", chart.title, dir / ("accuracy_vs_budget__" + file_safe(column.header))};
    render_chart(chart, p.stem);
    plots.push_back(p);
  }

  for (const auto& run : runs) {
    std::map<std::pair<double, double>, std::vector<double>> cells;  // (depth, length) -> scores
    std::set<double> depths, lengths;
    for (const json* row : run.scored_rows()) {
      const json md = row->value("metadata", json::object());
      if (!md.contains("context_length") || !md.contains("depth_percent") || !md["context_length"].is_number() ||
          !md["depth_percent"].is_number())
        continue;
      const json scores = row->value("scores", json::object());
      if (scores.empty() || !scores.begin()->is_number()) continue;
      double depth = md["depth_percent"].get<double>(), length = md["context_length"].get<double>();
      depths.insert(depth);
      lengths.insert(length);
      cells[{depth, length}].push_back(scores.begin()->get<double>());  // first score name (sorted)
    }
    if (cells.empty()) continue;
    Heatmap h;
    h.title = "NIAH: " + run.model + " / " + (run.method == "full" ? "full cache" : run.method + " " + budget_text(run));
    h.x_label = "context length (tokens)";
    h.y_label = "needle depth (%)";
    h.value_label = run.metrics.value("scores", json::object()).empty()
                        ? "score"
                        : run.metrics["scores"].begin().key();
    // Scores on a 0..1 scale, or 0..100 where the official scorer multiplies (RULER, NIAH).
    double top = 0;
    for (const auto& [key, xs] : cells)
      for (double x : xs) top = std::max(top, x);
    h.vmax = top > 1 ? 100 : 1;
    for (double l : lengths) h.x_ticks.push_back(format_fixed(l, 0));
    for (double d : depths) {
      h.y_ticks.push_back(format_fixed(d, 0));
      std::vector<double> line;
      for (double l : lengths) {
        auto it = cells.find({d, l});
        line.push_back(it == cells.end() ? std::nan("") : mean_stderr(it->second).mean);
      }
      h.values.push_back(line);
    }
    PlotFile p{"niah_heatmap", h.title, dir / ("niah_heatmap__" + file_safe(run.label))};
    render_chart(h, p.stem);
    plots.push_back(p);
  }

  struct ContextPlot {
    const char* kind;
    const char* title;
    const char* y_label;
    json::json_pointer field;
    double scale;
  };
  const ContextPlot context_plots[] = {
      {"ttft_vs_context", "Time to first token vs context length", "TTFT (ms)", "/timing/ttft_ms"_json_pointer, 1.0},
      {"tpot_vs_context", "Time per output token vs context length", "TPOT (ms)", "/timing/tpot_ms"_json_pointer, 1.0},
      {"memory_vs_context", "Peak KV device memory vs context length", "peak KV + metadata on device (MiB)",
       "/kv/peak_device_bytes_total"_json_pointer, 1.0 / (1024.0 * 1024.0)}};
  for (const auto& cp : context_plots) {
    LineChart chart;
    chart.title = cp.title;
    chart.x_label = "prompt tokens (2 significant digits; mean over the samples of a length)";
    chart.y_label = cp.y_label;
    for (size_t r = 0; r < grid.rows.size(); ++r) {
      ChartSeries s{row_name(grid, r, true), by_context(grid, r, cp.field, cp.scale)};
      if (!s.points.empty()) chart.series.push_back(s);
    }
    PlotFile p{cp.kind, chart.title, dir / cp.kind};
    render_chart(chart, p.stem);
    plots.push_back(p);
  }
  return plots;
}

}  // namespace kvbench
