// SPDX-License-Identifier: Apache-2.0
#include "reports/chart.h"

#include "harness/error.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace kvbench {
namespace {

namespace fs = std::filesystem;

constexpr double kWidth = 820, kHeight = 440;
constexpr const char* kFont = "DejaVu Sans";

// Tableau 10: distinguishable, print-friendly.
const double kPalette[][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
                              {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
                              {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81}};

using Draw = std::function<void(cairo_t*)>;

std::vector<fs::path> render_all(const Draw& draw, const fs::path& stem) {
  std::vector<fs::path> written;
  auto finish = [&](cairo_surface_t* surface, const fs::path& path, bool png) {
    cairo_t* cr = cairo_create(surface);
    if (png) cairo_scale(cr, 2.0, 2.0);  // the image surface is 2x the chart's user size
    draw(cr);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    if (png && status == CAIRO_STATUS_SUCCESS) status = cairo_surface_write_to_png(surface, path.c_str());
    cairo_surface_finish(surface);
    if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    KVBENCH_CHECK(status == CAIRO_STATUS_SUCCESS, path.string(), ": cairo: ", cairo_status_to_string(status));
    written.push_back(path);
  };
  fs::path svg = stem, pdf = stem, png = stem;
  svg += ".svg";
  pdf += ".pdf";
  png += ".png";
  finish(cairo_svg_surface_create(svg.c_str(), kWidth, kHeight), svg, false);
  finish(cairo_pdf_surface_create(pdf.c_str(), kWidth, kHeight), pdf, false);
  // PNG at 2x for sharp text on high-density screens.
  cairo_surface_t* image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 2 * kWidth, 2 * kHeight);
  finish(image, png, true);
  return written;
}

void set_font(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

// Draws text with its anchor: ax, ay in {0, 0.5, 1} = left/centre/right, top/middle/baseline-ish.
void text_at(cairo_t* cr, const std::string& text, double x, double y, double ax, double ay, double angle = 0) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, text.c_str(), &e);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, -e.x_bearing - ax * e.width, -e.y_bearing - ay * e.height);
  cairo_show_text(cr, text.c_str());
  cairo_restore(cr);
}

double text_width(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, text.c_str(), &e);
  return e.x_advance;
}

std::string tick_text(double v, double step) {
  char buffer[32];
  double a = std::fabs(v);
  if (a >= 1e6 || (a > 0 && a < 1e-3))
    std::snprintf(buffer, sizeof buffer, "%.3g", v);
  else {
    int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    std::snprintf(buffer, sizeof buffer, "%.*f", std::min(decimals, 6), v);
  }
  return buffer;
}

void background_and_title(cairo_t* cr, const std::string& title) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  set_font(cr, 15, true);
  text_at(cr, title, kWidth / 2, 14, 0.5, 0);
}

struct Frame {
  double left = 70, top = 44, right = kWidth - 290, bottom = kHeight - 54;
};

}  // namespace

std::vector<fs::path> render_chart(const LineChart& chart, const fs::path& stem) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& s : chart.series)
    for (const auto& [x, y] : s.points) {
      xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    }
  for (const auto& r : chart.references) ylo = std::min(ylo, r.y), yhi = std::max(yhi, r.y);
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1;
  if (!std::isfinite(ylo)) ylo = 0, yhi = 1;
  const std::vector<double> xt = nice_ticks(xlo, xhi), yt = nice_ticks(std::min(ylo, 0.0), yhi);
  const double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();
  auto draw = [&](cairo_t* cr) {
    background_and_title(cr, chart.title);
    Frame f;
    auto px = [&](double x) { return f.left + (x - x0) / (x1 - x0) * (f.right - f.left); };
    auto py = [&](double y) { return f.bottom - (y - y0) / (y1 - y0) * (f.bottom - f.top); };
    set_font(cr, 11);
    cairo_set_line_width(cr, 1);
    for (double t : yt) {
      cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
      cairo_move_to(cr, f.left, py(t));
      cairo_line_to(cr, f.right, py(t));
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
      text_at(cr, tick_text(t, yt.size() > 1 ? yt[1] - yt[0] : 1), f.left - 6, py(t), 1, 0.5);
    }
    for (double t : xt) {
      cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
      cairo_move_to(cr, px(t), f.bottom);
      cairo_line_to(cr, px(t), f.bottom + 4);
      cairo_stroke(cr);
      text_at(cr, tick_text(t, xt.size() > 1 ? xt[1] - xt[0] : 1), px(t), f.bottom + 7, 0.5, 0);
    }
    cairo_rectangle(cr, f.left, f.top, f.right - f.left, f.bottom - f.top);
    cairo_stroke(cr);
    set_font(cr, 12);
    text_at(cr, chart.x_label, (f.left + f.right) / 2, kHeight - 22, 0.5, 0);
    text_at(cr, chart.y_label, 16, (f.top + f.bottom) / 2, 0.5, 0, -M_PI / 2);

    double legend_y = f.top + 6;
    size_t colour = 0;
    set_font(cr, 11);
    for (const auto& r : chart.references) {
      cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
      const double dash[] = {6, 4};
      cairo_set_dash(cr, dash, 2, 0);
      cairo_set_line_width(cr, 1.5);
      cairo_move_to(cr, f.left, py(r.y));
      cairo_line_to(cr, f.right, py(r.y));
      cairo_stroke(cr);
      cairo_move_to(cr, f.right + 12, legend_y + 6);
      cairo_line_to(cr, f.right + 36, legend_y + 6);
      cairo_stroke(cr);
      cairo_set_dash(cr, nullptr, 0, 0);
      text_at(cr, r.name, f.right + 42, legend_y + 6, 0, 0.5);
      legend_y += 18;
    }
    for (const auto& s : chart.series) {
      const double* c = kPalette[colour++ % 10];
      cairo_set_source_rgb(cr, c[0], c[1], c[2]);
      cairo_set_line_width(cr, 2);
      auto points = s.points;
      std::sort(points.begin(), points.end());
      for (size_t i = 0; i < points.size(); ++i) {
        if (i == 0)
          cairo_move_to(cr, px(points[i].first), py(points[i].second));
        else
          cairo_line_to(cr, px(points[i].first), py(points[i].second));
      }
      cairo_stroke(cr);
      for (const auto& [x, y] : points) {
        cairo_arc(cr, px(x), py(y), 3.5, 0, 2 * M_PI);
        cairo_fill(cr);
      }
      cairo_move_to(cr, f.right + 12, legend_y + 6);
      cairo_line_to(cr, f.right + 36, legend_y + 6);
      cairo_stroke(cr);
      cairo_arc(cr, f.right + 24, legend_y + 6, 3.5, 0, 2 * M_PI);
      cairo_fill(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      std::string name = s.name;
      while (name.size() > 4 && text_width(cr, name) > kWidth - f.right - 46) name = name.substr(0, name.size() - 4) + "…";
      text_at(cr, name, f.right + 42, legend_y + 6, 0, 0.5);
      legend_y += 18;
    }
  };
  return render_all(draw, stem);
}

std::vector<fs::path> render_chart(const Heatmap& chart, const fs::path& stem) {
  auto draw = [&](cairo_t* cr) {
    background_and_title(cr, chart.title);
    Frame f;
    f.right = kWidth - 130;
    const size_t nx = std::max<size_t>(1, chart.x_ticks.size()), ny = std::max<size_t>(1, chart.y_ticks.size());
    const double cw = (f.right - f.left) / static_cast<double>(nx), ch = (f.bottom - f.top) / static_cast<double>(ny);
    // Red (0) -> yellow -> green (1), the gkamradt colour scale.
    auto colour = [&](double v, double* rgb) {
      double t = chart.vmax > chart.vmin ? std::clamp((v - chart.vmin) / (chart.vmax - chart.vmin), 0.0, 1.0) : 1.0;
      rgb[0] = t < 0.5 ? 0.90 : 0.90 - (t - 0.5) * 2 * 0.70;
      rgb[1] = t < 0.5 ? 0.25 + t * 2 * 0.60 : 0.85 - (t - 0.5) * 2 * 0.20;
      rgb[2] = 0.25;
    };
    set_font(cr, 10);
    for (size_t yi = 0; yi < ny; ++yi)
      for (size_t xi = 0; xi < nx; ++xi) {
        double v = yi < chart.values.size() && xi < chart.values[yi].size() ? chart.values[yi][xi] : NAN;
        double x = f.left + xi * cw, y = f.top + yi * ch;
        double rgb[3] = {0.85, 0.85, 0.85};
        if (!std::isnan(v)) colour(v, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, x, y, cw, ch);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, x, y, cw, ch);
        cairo_stroke(cr);
        if (!std::isnan(v) && cw > 28 && ch > 12) {
          cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
          char buffer[16];
          std::snprintf(buffer, sizeof buffer, "%.2f", v);
          text_at(cr, buffer, x + cw / 2, y + ch / 2, 0.5, 0.5);
        }
      }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    set_font(cr, 11);
    for (size_t xi = 0; xi < chart.x_ticks.size(); ++xi) text_at(cr, chart.x_ticks[xi], f.left + (xi + 0.5) * cw, f.bottom + 6, 0.5, 0);
    for (size_t yi = 0; yi < chart.y_ticks.size(); ++yi) text_at(cr, chart.y_ticks[yi], f.left - 6, f.top + (yi + 0.5) * ch, 1, 0.5);
    set_font(cr, 12);
    text_at(cr, chart.x_label, (f.left + f.right) / 2, kHeight - 22, 0.5, 0);
    text_at(cr, chart.y_label, 16, (f.top + f.bottom) / 2, 0.5, 0, -M_PI / 2);
    // Colour bar.
    const double bx = f.right + 30, bw = 18;
    for (int i = 0; i < 100; ++i) {
      double rgb[3];
      colour(chart.vmin + (chart.vmax - chart.vmin) * (1 - i / 100.0), rgb);
      cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
      cairo_rectangle(cr, bx, f.top + i * (f.bottom - f.top) / 100.0, bw, (f.bottom - f.top) / 100.0 + 0.5);
      cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    set_font(cr, 10);
    text_at(cr, tick_text(chart.vmax, 0.1), bx + bw + 4, f.top, 0, 0.5);
    text_at(cr, tick_text(chart.vmin, 0.1), bx + bw + 4, f.bottom, 0, 0.5);
    text_at(cr, chart.value_label, bx + bw + 30, (f.top + f.bottom) / 2, 0.5, 0, -M_PI / 2);
  };
  return render_all(draw, stem);
}

}  // namespace kvbench
