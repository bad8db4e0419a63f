// SPDX-License-Identifier: Apache-2.0
// From a real sweep to every output: `kvbench run configs/ci/report_sweep.yaml` on a tiny random
// Qwen3 (tests/support/make_tiny_chat_model.py; 3 methods x 2 tasks, 4 new tokens, ~15 s on 2 CPU
// cores), then one `kvbench report` must write the md/tex/csv/jsonl tables, all four plot kinds as
// SVG and PNG, one HTML file and the exports. Checked here: the accuracy CSV against each run's
// metrics.json and against means recomputed from samples.jsonl; the LaTeX (pdflatex when installed,
// else structure); the HTML in headless Chromium (no console error, a non-blank screenshot); the
// lm-eval export with lm-eval's own schema code; `kvbench rescore` (byte-identical on an unchanged
// run, restores scores written by an "older scorer"); `kvbench compare` (a run against itself exits
// 0, corrupted predictions exit 1 naming the cell, bad input exits 2) and its bootstrap interval
// against numpy.
#include <cairo.h>
#include <gmock/gmock.h>
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

using kvbench::test::env;
using Result = kvbench::test::CommandResult;
constexpr auto* run = &kvbench::test::run_command;

std::string kvbench() { return env("KVBENCH_BINARY", "kvbench"); }
std::string python() { return env("KVBENCH_PYTHON", "python3"); }
std::string source(const std::string& rel) { return env("KVBENCH_SOURCE_DIR", KVBENCH_SOURCE_DIR) + "/" + rel; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  // The fields checked here hold no quotes except method params, which are parsed as quoted fields.
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') field += '"', ++i;
        else if (c == '"') quoted = false;
        else field += c;
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        fields.push_back(field);
        field.clear();
      } else {
        field += c;
      }
    }
    fields.push_back(field);
    rows.push_back(fields);
  }
  return rows;
}

class ReportEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "test_report_end_to_end";
    run("rm -rf '" + root_.string() + "'");
    fs::create_directories(root_);
    fs::path model = root_ / "tiny_chat_model";
    Result m = run("'" + python() + "' '" + source("tests/support/make_tiny_chat_model.py") + "' '" +
                   env("KVBENCH_DATA_DIR") + "/tokenizers/qwen3' '" + model.string() + "'");
    ASSERT_EQ(m.code, 0) << m.out;
    Result r = run(kvbench() + " run '" + source("configs/ci/report_sweep.yaml") + "' --no-progress --out '" +
                   (root_ / "runs").string() + "' --set model.path='" + model.string() +
                   "' --set model.device=cpu --set generation.max_new_tokens=4");
    ASSERT_EQ(r.code, 0) << r.out;
    console_ = r.out;
  }
  static fs::path root_;
  static std::string console_;

  static std::vector<fs::path> run_dirs(const fs::path& under) {
    std::vector<fs::path> dirs;
    for (const auto& e : fs::recursive_directory_iterator(under))
      if (e.path().filename() == "metrics.json") dirs.push_back(e.path().parent_path());
    std::sort(dirs.begin(), dirs.end());
    return dirs;
  }
  static fs::path copy_run(const fs::path& dir, const std::string& name) {
    fs::path dst = root_ / name / dir.filename();
    run("rm -rf '" + (root_ / name).string() + "' && mkdir -p '" + (root_ / name).string() + "' && cp -r '" +
        dir.string() + "' '" + dst.string() + "'");
    return dst;
  }
  // Rewrites every prediction of a run (the fixture's deliberate corruption or repair).
  static void set_predictions(const fs::path& dir, const std::function<std::string(const json&)>& make) {
    std::istringstream in(read_text(dir / "samples.jsonl"));
    std::string line, out;
    while (std::getline(in, line)) {
      json row = json::parse(line);
      row["prediction"] = make(row);
      out += row.dump() + "\n";
    }
    std::ofstream(dir / "samples.jsonl") << out;
  }
};
fs::path ReportEndToEnd::root_;
std::string ReportEndToEnd::console_;

TEST_F(ReportEndToEnd, ConsoleTableNamesTheDevice) {
  EXPECT_THAT(console_, HasSubstr("KV+meta MiB on cpu"));
  EXPECT_THAT(console_, ::testing::Not(HasSubstr("GPU")));
}

TEST_F(ReportEndToEnd, OneReportWritesEveryTablePlotAndTheHtml) {
  const fs::path out = root_ / "report";
  Result r = run(kvbench() + " report '" + (root_ / "runs").string() + "' --out '" + out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f : {"tables.md", "tables.tex", "tables_document.tex", "accuracy.csv", "delta.csv", "latency.csv",
                        "memory.csv", "runs.csv", "results.jsonl", "report.html", "kvpress.csv"})
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f;
  std::map<std::string, std::set<std::string>> kinds;  // kind -> extensions
  for (const auto& e : fs::directory_iterator(out / "plots")) {
    std::string name = e.path().stem().string();
    kinds[name.substr(0, name.find("__"))].insert(e.path().extension().string());
    EXPECT_GT(fs::file_size(e.path()), 1000u) << e.path();
  }
  for (const char* kind : {"accuracy_vs_budget", "niah_heatmap", "ttft_vs_context", "tpot_vs_context", "memory_vs_context"})
    EXPECT_EQ(kinds[kind], (std::set<std::string>{".svg", ".png", ".pdf"})) << kind;

  // Accuracy CSV against metrics.json and against samples.jsonl means recomputed here.
  auto csv = read_csv(out / "accuracy.csv");
  ASSERT_GE(csv.size(), 4u);
  const auto& header = csv[0];
  size_t checked = 0;
  for (const auto& dir : run_dirs(root_ / "runs")) {
    json config = json::parse(read_text(dir / "config.json"));
    json metrics = json::parse(read_text(dir / "metrics.json"));
    std::string task = config["task"]["name"], method = config["method"]["name"];
    std::string params = config["method"]["params"].dump();
    for (const auto& [score, stat] : metrics["scores"].items()) {
      std::string column = metrics["scores"].size() == 1 ? task : task + ": " + score;
      size_t c = std::find(header.begin(), header.end(), column + "_mean") - header.begin();
      ASSERT_LT(c, header.size()) << column;
      const std::vector<std::string>* row = nullptr;
      for (const auto& line : csv)
        if (line[1] == method && line[2] == params) row = &line;
      ASSERT_NE(row, nullptr) << method << " " << params;
      double table_mean = std::stod((*row)[c]), table_stderr = std::stod((*row)[c + 1]);
      size_t table_n = std::stoul((*row)[c + 2]);
      // metrics.json sums in task order, the table in file order: the same numbers (<= 100) to ulps.
      EXPECT_NEAR(table_mean, stat["mean"].get<double>(), 1e-12) << dir;
      EXPECT_NEAR(table_stderr, stat["stderr"].get<double>(), 1e-12) << dir;
      EXPECT_EQ(table_n, stat["n"].get<size_t>());
      double sum = 0;
      size_t n = 0;
      std::istringstream samples(read_text(dir / "samples.jsonl"));
      std::string line;
      while (std::getline(samples, line)) {
        json s = json::parse(line);
        if (s["error"].is_null()) sum += s["scores"][score].get<double>(), ++n;
      }
      EXPECT_EQ(n, table_n);
      EXPECT_NEAR(table_mean, sum / static_cast<double>(n), 1e-12);
      ++checked;
    }
  }
  EXPECT_GE(checked, 6u);

  // LaTeX: compiled when pdflatex is installed, else its structure (the unit test covers escaping).
  const std::string tex = read_text(out / "tables_document.tex");
  if (run("command -v pdflatex").code == 0) {
    Result latex = run("cd '" + out.string() + "' && pdflatex -interaction=nonstopmode -halt-on-error tables_document.tex");
    EXPECT_EQ(latex.code, 0) << latex.out;
  } else {
    size_t begins = 0, ends = 0;
    for (size_t p = 0; (p = tex.find("\\begin{", p)) != std::string::npos; ++p) ++begins;
    for (size_t p = 0; (p = tex.find("\\end{", p)) != std::string::npos; ++p) ++ends;
    EXPECT_EQ(begins, ends);
    EXPECT_EQ(begins, 1 + 5 * 2u);  // document + 5 tables x (table, tabular)
    EXPECT_THAT(tex, HasSubstr("niah.classic"));
    EXPECT_THAT(tex, HasSubstr("text2json\\_score"));
  }

  // lm-eval's own schema and file discovery accept the export.
  Result lmeval = run("'" + python() + "' '" + source("tests/reports/check_lmeval_results.py") + "' '" +
                      (out / "lm_eval").string() + "' niah.classic text2json.synthetic");
  EXPECT_EQ(lmeval.code, 0) << lmeval.out;
}

TEST_F(ReportEndToEnd, HtmlRendersInHeadlessChromium) {
  const fs::path out = root_ / "html";
  ASSERT_EQ(run(kvbench() + " report '" + (root_ / "runs").string() + "' --format html --out '" + out.string() + "'").code, 0);
  Result which = run("command -v chromium");
  ASSERT_EQ(which.code, 0) << "chromium is not installed (scripts/setup.sh installs the Debian package)";
  const fs::path shot = out / "screenshot.png";
  // --enable-logging=stderr prints every console message as "...:CONSOLE(line)] ..."; the
  // report has no script, so any console message (a failed load, a CSS or SVG error) is a failure.
  Result chrome = run("timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
                      "--hide-scrollbars --user-data-dir='" + (out / "profile").string() +
                      "' --enable-logging=stderr --v=0 --window-size=1280,1600 --screenshot='" + shot.string() +
                      "' 'file://" + (out / "report.html").string() + "'");
  ASSERT_EQ(chrome.code, 0) << chrome.out;
  EXPECT_THAT(chrome.out, ::testing::Not(HasSubstr("CONSOLE"))) << chrome.out;
  EXPECT_THAT(chrome.out, ::testing::Not(HasSubstr("Failed to load"))) << chrome.out;
  // Non-blank: many pixels that are not white and a spread of colours (text, table rules, plots).
  cairo_surface_t* image = cairo_image_surface_create_from_png(shot.c_str());
  ASSERT_EQ(cairo_surface_status(image), CAIRO_STATUS_SUCCESS) << shot;
  const int w = cairo_image_surface_get_width(image), h = cairo_image_surface_get_height(image);
  const int stride = cairo_image_surface_get_stride(image);
  const unsigned char* data = cairo_image_surface_get_data(image);
  size_t inked = 0;
  std::set<uint32_t> colours;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint32_t px = *reinterpret_cast<const uint32_t*>(data + y * stride + 4 * x) & 0xFFFFFF;
      if (px != 0xFFFFFF) ++inked;
      if (colours.size() < 1000) colours.insert(px);
    }
  cairo_surface_destroy(image);
  EXPECT_EQ(w, 1280);
  EXPECT_GT(inked, static_cast<size_t>(w) * h / 50) << "screenshot is (almost) blank";
  EXPECT_GT(colours.size(), 20u);
}

TEST_F(ReportEndToEnd, RescoreReproducesMetricsExactlyAndAppliesAScorerChange) {
  const fs::path original = run_dirs(root_ / "runs").front();
  const fs::path dir = copy_run(original, "rescore");
  const std::string metrics = read_text(dir / "metrics.json"), samples = read_text(dir / "samples.jsonl");
  Result r = run(kvbench() + " rescore '" + dir.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("metrics.json unchanged"));
  EXPECT_EQ(read_text(dir / "metrics.json"), metrics);
  EXPECT_EQ(read_text(dir / "samples.jsonl"), samples);

  // Scores from an "older scorer": every stored score and the metrics means off by +0.5.
  std::istringstream in(samples);
  std::string line, shifted;
  while (std::getline(in, line)) {
    json row = json::parse(line);
    for (auto& [name, v] : row["scores"].items()) v = v.get<double>() + 0.5;
    shifted += row.dump() + "\n";
  }
  std::ofstream(dir / "samples.jsonl") << shifted;
  json stale = json::parse(metrics);
  for (auto& [name, s] : stale["scores"].items()) s["mean"] = s["mean"].get<double>() + 0.5;
  std::ofstream(dir / "metrics.json") << stale.dump(2) << "\n";
  r = run(kvbench() + " rescore '" + dir.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("metrics.json updated"));
  EXPECT_EQ(read_text(dir / "metrics.json"), metrics);  // today's scorers: the original numbers
  EXPECT_EQ(read_text(dir / "samples.jsonl"), samples);  // predictions untouched, scores restored
}

TEST_F(ReportEndToEnd, CompareExitCodesAndBootstrapAgainstNumpy) {
  fs::path niah_full;
  for (const auto& d : run_dirs(root_ / "runs"))
    if (d.string().find("niah.classic") != std::string::npos && d.string().find("/full/") != std::string::npos) niah_full = d;
  ASSERT_FALSE(niah_full.empty());
  Result self = run(kvbench() + " compare '" + niah_full.string() + "' '" + niah_full.string() + "'");
  EXPECT_EQ(self.code, 0) << self.out;
  EXPECT_THAT(self.out, HasSubstr("No regression"));

  // The tiny random model never finds the needle, so the fixture makes a golden run (predictions =
  // the reference answer, rescored to full marks) and a corrupted copy of it (every other
  // prediction garbled), both scored by `kvbench rescore`.
  const fs::path golden = copy_run(niah_full, "golden");
  set_predictions(golden, [](const json& row) { return row["references"][0].get<std::string>(); });
  ASSERT_EQ(run(kvbench() + " rescore '" + golden.string() + "'").code, 0);
  const fs::path corrupted = copy_run(golden, "corrupted");
  int k = 0;
  set_predictions(corrupted, [&](const json& row) {
    return (k++ % 2 == 0) ? std::string("#corrupted#") : row["prediction"].get<std::string>();
  });
  ASSERT_EQ(run(kvbench() + " rescore '" + corrupted.string() + "'").code, 0);
  const fs::path report = root_ / "compare.json";
  Result worse = run(kvbench() + " compare '" + golden.string() + "' '" + corrupted.string() +
                     "' --fail-on accuracy --json '" + report.string() + "'");
  EXPECT_EQ(worse.code, 1) << worse.out;
  EXPECT_THAT(worse.out, HasSubstr("niah.classic | niah.gkamradt | tiny_chat_model | full {}: accuracy: string_match_all dropped"));
  Result numpy = run("'" + python() + "' '" + source("tests/reports/check_bootstrap.py") + "' '" + report.string() +
                     "' '" + (golden / "samples.jsonl").string() + "' '" + (corrupted / "samples.jsonl").string() + "'");
  EXPECT_EQ(numpy.code, 0) << numpy.out;

  EXPECT_EQ(run(kvbench() + " compare /nonexistent '" + golden.string() + "'").code, 2);
  EXPECT_EQ(run(kvbench() + " compare '" + golden.string() + "' '" + golden.string() + "' --fail-on speed").code, 2);
}

}  // namespace
