// SPDX-License-Identifier: Apache-2.0
// Two chart kinds drawn with cairo (one drawing routine, three surfaces: SVG, PNG and PDF):
// a line chart (series of (x, y) points, optional horizontal reference lines, legend) and a heatmap
// (a grid of values in [vmin, vmax], cells without data hatched grey, a colour bar). Fonts come
// from fontconfig ("DejaVu Sans", fonts-dejavu-core).
#pragma once

#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace kvbench {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // drawn in x order, joined by lines
};

struct ReferenceLine {
  std::string name;
  double y = 0;
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<ChartSeries> series;
  std::vector<ReferenceLine> references;  // dashed horizontal lines (e.g. the full cache)
};

struct Heatmap {
  std::string title, x_label, y_label, value_label;
  std::vector<std::string> x_ticks, y_ticks;
  std::vector<std::vector<double>> values;  // [y][x]; NaN = no sample in that cell
  double vmin = 0, vmax = 1;
};

// Writes stem.svg, stem.png and stem.pdf; returns the paths written. kRun error if cairo fails.
std::vector<std::filesystem::path> render_chart(const LineChart& chart, const std::filesystem::path& stem);
std::vector<std::filesystem::path> render_chart(const Heatmap& chart, const std::filesystem::path& stem);

// Tick positions 1-2-5 x 10^k covering [lo, hi] with about `target` ticks.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

}  // namespace kvbench
