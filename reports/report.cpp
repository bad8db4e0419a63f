// SPDX-License-Identifier: Apache-2.0
#include "reports/report.h"

#include "harness/error.h"
#include "harness/run/run_store.h"
#include "reports/export_kvpress.h"
#include "reports/export_lmeval.h"
#include "reports/html_report.h"
#include "reports/latex.h"
#include "reports/report_plots.h"
#include "reports/result_grid.h"
#include "reports/tables.h"
#include "reports/tidy_json.h"

#include <algorithm>

namespace kvbench {
namespace {

namespace fs = std::filesystem;

}  // namespace

const std::vector<std::string>& report_formats() {
  static const std::vector<std::string> formats = {"md", "tex", "csv", "json", "plots", "html", "lmeval", "kvpress"};
  return formats;
}

std::set<std::string> parse_formats(const std::string& list) {
  std::set<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string f = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!f.empty()) {
      const auto& known = report_formats();
      KVBENCH_CHECK_KIND(ErrorKind::kUsage, std::find(known.begin(), known.end(), f) != known.end(),
                         "--format: unknown format '", f, "' (known: md, tex, csv, json, plots, html, lmeval, kvpress)");
      out.insert(f);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

ReportOutput write_report(const std::vector<RunRecord>& runs, const ReportOptions& options) {
  auto wants = [&](const char* f) { return options.formats.empty() || options.formats.count(f) > 0; };
  ResultGrid grid = build_grid(runs, options.group_by, options.allow_mixed);
  std::vector<Table> tables = {accuracy_table(grid), delta_table(grid), latency_table(grid), memory_table(grid),
                               runs_table(runs)};
  fs::create_directories(options.out_dir);
  ReportOutput out;
  auto write = [&](const fs::path& name, const std::string& text) {
    fs::path path = options.out_dir / name;
    fs::create_directories(path.parent_path());
    write_file_atomic(path, text);
    out.files.push_back(path);
  };
  out.accuracy_markdown = to_markdown(tables[0]);
  if (wants("md")) {
    std::string md = "# kvbench results\n\n";
    for (const auto& t : tables) md += to_markdown(t) + "\n";
    write("tables.md", md);
  }
  if (wants("tex")) {
    std::vector<std::string> texts;
    std::string all;
    for (const auto& t : tables) {
      texts.push_back(to_latex(t));
      all += texts.back() + "\n";
    }
    write("tables.tex", "% kvbench results; needs \\usepackage{booktabs}\n" + all);
    write("tables_document.tex", latex_document(texts));
  }
  if (wants("csv"))
    for (const auto& t : tables) write(t.id + ".csv", to_csv(t));
  if (wants("json")) write("results.jsonl", tidy_jsonl(runs));
  std::vector<PlotFile> plots;
  if (wants("plots") || wants("html")) {
    plots = write_plots(grid, runs, options.out_dir / "plots");
    for (const auto& p : plots)
      for (const char* ext : {".svg", ".png", ".pdf"}) {
        fs::path f = p.stem;
        f += ext;
        out.files.push_back(f);
      }
  }
  if (wants("html")) write("report.html", html_report(tables, plots, runs, options.out_dir));
  if (wants("lmeval"))
    for (const auto& r : lmeval_results(grid)) write(fs::path("lm_eval") / (r.file_stem + ".json"), r.document.dump(2) + "\n");
  if (wants("kvpress")) write("kvpress.csv", kvpress_csv(grid));
  return out;
}

}  // namespace kvbench
