// SPDX-License-Identifier: Apache-2.0
// reports/ on synthetic run directories with known numbers: the accuracy, delta, latency and memory
// tables against statistics computed here independently; run states marked (partial, failed,
// missing), mixed cells refused unless allowed; LaTeX escaped and balanced; CSV, tidy JSONL, the
// console table's device column; the four plot kinds as SVG/PNG/PDF; the HTML report offline-only.
#include "harness/error.h"
#include "reports/html_report.h"
#include "reports/latex.h"
#include "reports/report.h"
#include "reports/report_plots.h"
#include "reports/result_grid.h"
#include "reports/results_table.h"
#include "reports/tables.h"
#include "reports/tidy_json.h"
#include "tests/reports/synthetic_runs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <regex>
#include <sstream>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::SyntheticRun;
using testing::SyntheticSample;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path scratch(const std::string& name) {
  const char* tmp = std::getenv("KVBENCH_TEST_TMP");
  fs::path dir = fs::path(tmp ? tmp : "/tmp") / "test_report_tables" / name;
  // rm -rf, not fs::remove_all: libtorch exports a std::filesystem::remove_all that crashes on an
  // existing tree (see test_higgs_grid_script).
  EXPECT_EQ(std::system(("rm -rf '" + dir.string() + "'").c_str()), 0);
  fs::create_directories(dir);
  return dir;
}

// Independent reference: mean and sample-sd / sqrt(n) by the textbook two-pass formula.
std::pair<double, double> reference_stats(const std::vector<double>& xs) {
  double mean = 0;
  for (double x : xs) mean += x / static_cast<double>(xs.size());
  double ss = 0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  return {mean, xs.size() > 1 ? std::sqrt(ss / static_cast<double>(xs.size() - 1) / static_cast<double>(xs.size())) : 0.0};
}

std::string fixed4(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

std::vector<SyntheticSample> samples_with(const std::vector<double>& scores, double input_tokens = 1000) {
  std::vector<SyntheticSample> out;
  for (size_t i = 0; i < scores.size(); ++i) {
    SyntheticSample s;
    s.id = "s" + std::to_string(i);
    s.score = scores[i];
    s.input_tokens = input_tokens;
    s.ttft_ms = 10 + static_cast<double>(i);
    s.peak_device_bytes = 1000.0 * static_cast<double>(i + 1);
    out.push_back(s);
  }
  return out;
}

// A 3-method x 2-task study: full, streaming budget 256, streaming budget 512.
struct Study {
  fs::path root;
  std::map<std::string, std::vector<double>> scores;  // "method/budget/task" -> per-sample scores
};

Study make_study(const std::string& name) {
  Study study{scratch(name), {}};
  struct Spec {
    std::string method;
    json params;
    double budget;
  };
  const Spec specs[] = {{"full", json::object(), 0}, {"streaming_llm", {{"recent_tokens", 256}}, 256},
                        {"streaming_llm", {{"recent_tokens", 512}}, 512}};
  const std::map<std::string, std::vector<double>> base = {{"task_a", {1, 1, 0, 1, 0.5}}, {"task_b", {0.25, 0.75, 1, 1}}};
  int k = 0;
  for (const auto& spec : specs) {
    for (const auto& [task, scores] : base) {
      std::vector<double> xs = scores;
      for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::max(0.0, xs[i] - 0.1 * k * static_cast<double>(i % 2));
      SyntheticRun run;
      run.task = task;
      run.method = spec.method;
      run.method_params = spec.params;
      run.budget_total = spec.budget;
      run.samples = samples_with(xs);
      testing::write_synthetic_run(study.root, run);
      study.scores[spec.method + "/" + std::to_string(static_cast<int>(spec.budget)) + "/" + task] = xs;
    }
    ++k;
  }
  return study;
}

size_t column_of(const Table& t, const std::string& header) {
  for (size_t c = 0; c < t.header.size(); ++c)
    if (t.header[c] == header) return c;
  ADD_FAILURE() << "no column " << header;
  return 0;
}

TEST(ReportTables, AccuracyCellsAverageAndDeltaMatchIndependentStatistics) {
  Study study = make_study("accuracy");
  std::vector<RunRecord> runs = load_runs({study.root.string()});
  ASSERT_EQ(runs.size(), 6u);
  ResultGrid grid = build_grid(runs, {"model", "method", "budget"}, false);
  Table acc = accuracy_table(grid);
  Table delta = delta_table(grid);
  ASSERT_EQ(acc.rows.size(), 3u);
  // Rows: full first, then the method's budgets descending.
  EXPECT_EQ(acc.rows[0][2].text, "full");
  EXPECT_EQ(acc.rows[1][2].text, "512 tok (51.2%)");  // budget_total 512 of 1000 prompt tokens
  EXPECT_EQ(acc.rows[2][2].text, "256 tok (25.6%)");
  const char* keys[] = {"full/0", "streaming_llm/512", "streaming_llm/256"};
  for (size_t r = 0; r < 3; ++r) {
    double sum_means = 0;
    for (const char* task : {"task_a", "task_b"}) {
      auto [mean, se] = reference_stats(study.scores[std::string(keys[r]) + "/" + task]);
      const TableCell& cell = acc.rows[r][column_of(acc, task)];
      ASSERT_TRUE(cell.stat.has_value());
      // Same data, summed in another order: equal to a few ulps of numbers <= 1.
      EXPECT_NEAR(cell.stat->mean, mean, 1e-14);
      EXPECT_NEAR(cell.stat->stderr_, se, 1e-14);
      EXPECT_EQ(cell.text, fixed4(mean) + " ± " + fixed4(se) + " (n=" +
                               std::to_string(study.scores[std::string(keys[r]) + "/" + task].size()) + ")");
      auto [full_mean, unused] = reference_stats(study.scores[std::string("full/0/") + task]);
      EXPECT_NEAR(std::stod(delta.rows[r][column_of(delta, task)].raw), mean - full_mean, 1e-14);
      sum_means += mean;
    }
    EXPECT_NEAR(std::stod(acc.rows[r][column_of(acc, "average")].raw), sum_means / 2, 1e-14);
  }
}

TEST(ReportTables, PartialFailedAndMissingRunsAreMarkedNeverAveragedSilently) {
  fs::path root = scratch("states");
  SyntheticRun full;
  full.samples = samples_with({1, 0, 1});
  testing::write_synthetic_run(root, full);
  SyntheticRun full_b = full;
  full_b.task = "task_b";
  testing::write_synthetic_run(root, full_b);
  SyntheticRun partial = full;
  partial.method = "quest";
  partial.method_params = {{"token_budget", 64}};
  partial.budget_total = 64;
  partial.samples[1].error = true;
  partial.status = "partial";
  testing::write_synthetic_run(root, partial);  // quest has no task_b run: missing
  SyntheticRun failed = full;
  failed.method = "shadowkv";
  failed.extra_selected = 2;
  failed.status = "failed";
  fs::path failed_dir = testing::write_synthetic_run(root, failed);
  fs::remove(failed_dir / "metrics.json");  // died before writing it

  std::vector<RunRecord> runs = load_runs({root.string()});
  ResultGrid grid = build_grid(runs, {"model", "method", "budget"}, false);
  Table acc = accuracy_table(grid);
  const std::string md = to_markdown(acc);
  std::map<std::string, const std::vector<TableCell>*> by_method;
  for (const auto& row : acc.rows) by_method[row[1].text] = &row;
  const auto& quest = *by_method.at("quest");
  EXPECT_THAT(quest[column_of(acc, "task_a")].text, HasSubstr("[partial]"));
  EXPECT_THAT(quest[column_of(acc, "task_a")].text, HasSubstr("(n=2)"));  // the errored sample is not scored
  EXPECT_EQ(quest[column_of(acc, "task_b")].text, "- [missing]");
  EXPECT_EQ(quest[column_of(acc, "average")].text, "-");  // no average over a missing cell
  SyntheticRun all_failed = full;
  all_failed.task = "task_c";  // no run of task_c scored anything: its column still appears
  all_failed.samples = samples_with({1});
  all_failed.samples[0].error = true;
  all_failed.status = "partial";
  testing::write_synthetic_run(root, all_failed);
  runs = load_runs({root.string()});
  grid = build_grid(runs, {"model", "method", "budget"}, false);
  acc = accuracy_table(grid);
  by_method.clear();
  for (const auto& row : acc.rows) by_method[row[1].text] = &row;
  EXPECT_EQ((*by_method.at("full"))[column_of(acc, "task_c")].text, "- [partial]");
  EXPECT_EQ((*by_method.at("full"))[column_of(acc, "average")].text, "-");
  const auto& shadow = *by_method.at("shadowkv");
  EXPECT_THAT(shadow[column_of(acc, "task_a")].text, HasSubstr("[failed]"));
  EXPECT_THAT(md, HasSubstr("[partial]"));
  // The same marks reach every other table.
  for (const Table& t : {latency_table(grid), memory_table(grid)}) EXPECT_THAT(to_markdown(t), HasSubstr("[partial]")) << t.id;
  EXPECT_THAT(to_markdown(delta_table(grid)), HasSubstr("[partial]"));
  EXPECT_THAT(to_markdown(runs_table(runs)), HasSubstr("failed"));
}

TEST(ReportTables, MixedCellsAreAnErrorUnlessAllowed) {
  fs::path root = scratch("mixed");
  SyntheticRun a;
  a.samples = samples_with({1, 1});
  testing::write_synthetic_run(root, a);
  SyntheticRun b = a;
  b.dataset_sha256 = "d1";
  b.samples = samples_with({0, 0});
  for (auto& s : b.samples) s.id += "_shard2";
  testing::write_synthetic_run(root, b);
  std::vector<RunRecord> runs = load_runs({root.string()});
  try {
    build_grid(runs, {"model", "method", "budget"}, false);
    FAIL() << "mixed dataset hashes must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_THAT(e.what(), HasSubstr("dataset hashes {d0, d1}"));
    EXPECT_THAT(e.what(), HasSubstr("--allow-mixed"));
  }
  ResultGrid grid = build_grid(runs, {"model", "method", "budget"}, true);
  Table acc = accuracy_table(grid);
  EXPECT_THAT(acc.rows[0][column_of(acc, "task_a")].text, HasSubstr("(n=4) [mixed]"));  // pooled and marked
}

TEST(ReportTables, LatencyPercentilesAndMemoryNameTheDevice) {
  fs::path root = scratch("latency");
  SyntheticRun run;
  run.device = "cuda:0";
  run.samples = samples_with({1, 1, 1, 1, 1, 1, 1, 1, 1, 1});  // ttft 10..19 ms, peak 1000..10000 B
  testing::write_synthetic_run(root, run);
  const std::vector<RunRecord> runs = load_runs({root.string()});
  ResultGrid grid = build_grid(runs, {"model", "method", "budget"}, false);
  Table lat = latency_table(grid);
  ASSERT_EQ(lat.rows.size(), 1u);
  // numpy.percentile(range(10, 20), [50, 90, 99]) = 14.5, 18.1, 18.91 (linear interpolation).
  EXPECT_NEAR(std::stod(lat.rows[0][column_of(lat, "TTFT p50")].raw), 14.5, 1e-12);
  EXPECT_NEAR(std::stod(lat.rows[0][column_of(lat, "TTFT p90")].raw), 18.1, 1e-12);
  EXPECT_NEAR(std::stod(lat.rows[0][column_of(lat, "TTFT p99")].raw), 18.91, 1e-12);
  Table mem = memory_table(grid);
  EXPECT_EQ(mem.rows[0][column_of(mem, "device")].text, "cuda:0");
  EXPECT_EQ(std::stod(mem.rows[0][column_of(mem, "peak device MiB")].raw), 10000.0);  // the largest, exactly
  EXPECT_EQ(std::stod(mem.rows[0][column_of(mem, "KV device MiB")].raw), 2750.0);    // mean of 500..5000
}

TEST(ReportTables, BadRunFilesAreOneLineInputErrorsNamingFileAndLine) {
  fs::path root = scratch("bad");
  SyntheticRun run;
  run.samples = samples_with({1, 0, 1});
  fs::path dir = testing::write_synthetic_run(root, run);
  {
    std::ofstream(dir / "samples.jsonl", std::ios::app) << "{\"id\": \"x\", oops}\n" << "{\"id\": \"y\"}\n";
  }
  try {
    load_run(dir);
    FAIL() << "a malformed samples.jsonl line must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_THAT(e.what(), HasSubstr((dir / "samples.jsonl").string() + ":4: invalid JSON"));
  }
  std::ofstream(dir / "samples.jsonl") << "{\"id\": \"a\"}\n{\"id\": \"b\", \"pred";  // torn last line: ignored
  EXPECT_EQ(load_run(dir).samples.size(), 1u);
  std::ofstream(dir / "metrics.json") << "{\"scores\": ";
  try {
    load_run(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr((dir / "metrics.json").string() + ": invalid JSON at byte"));
  }
  try {
    load_runs({(root / "nope").string()});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("nope: no such run directory"));
  }
}

TEST(ReportTables, LatexIsEscapedAndBalanced) {
  fs::path root = scratch("latex");
  SyntheticRun run;
  run.task = "my_task&50%#x";
  run.model = "m~{1}^2\\";
  run.samples = samples_with({1, 0});
  testing::write_synthetic_run(root, run);
  const std::vector<RunRecord> runs = load_runs({root.string()});
  ResultGrid grid = build_grid(runs, {"model", "method", "budget"}, false);
  const std::string tex = to_latex(accuracy_table(grid));
  EXPECT_THAT(tex, HasSubstr("my\\_task\\&50\\%\\#x"));
  EXPECT_THAT(tex, HasSubstr("m\\textasciitilde{}\\{1\\}\\textasciicircum{}2\\textbackslash{}"));
  EXPECT_THAT(tex, HasSubstr("$\\pm$"));
  EXPECT_THAT(tex, Not(HasSubstr("±")));
  for (const char* rule : {"\\toprule", "\\midrule", "\\bottomrule"}) EXPECT_THAT(tex, HasSubstr(rule));
  // Every \begin{env} has its \end{env}, properly nested; braces balance outside escapes.
  std::vector<std::string> stack;
  std::regex env(R"(\\(begin|end)\{([a-z]+)\})");
  for (auto it = std::sregex_iterator(tex.begin(), tex.end(), env); it != std::sregex_iterator(); ++it) {
    if ((*it)[1] == "begin") {
      stack.push_back((*it)[2]);
    } else {
      ASSERT_FALSE(stack.empty()) << tex;
      EXPECT_EQ(stack.back(), (*it)[2]);
      stack.pop_back();
    }
  }
  EXPECT_TRUE(stack.empty());
  int depth = 0;
  for (size_t i = 0; i < tex.size(); ++i) {
    if (tex[i] == '\\' && i + 1 < tex.size() && (tex[i + 1] == '{' || tex[i + 1] == '}' || tex[i + 1] == '\\')) {
      ++i;
      continue;
    }
    depth += tex[i] == '{' ? 1 : (tex[i] == '}' ? -1 : 0);
    ASSERT_GE(depth, 0) << tex;
  }
  EXPECT_EQ(depth, 0);
  // Each row has as many cells as the column spec.
  std::smatch spec;
  ASSERT_TRUE(std::regex_search(tex, spec, std::regex(R"(\\begin\{tabular\}\{([lr]+)\})")));
  std::istringstream lines(tex);
  std::string line;
  while (std::getline(lines, line))
    if (line.size() > 3 && line.substr(line.size() - 3) == " \\\\") {
      size_t amps = 0;
      for (size_t i = 0; i < line.size(); ++i) amps += line[i] == '&' && (i == 0 || line[i - 1] != '\\');
      EXPECT_EQ(amps + 1, spec[1].length()) << line;
    }
}

TEST(ReportTables, CsvTidyJsonlAndConsoleTable) {
  Study study = make_study("exports");
  std::vector<RunRecord> runs = load_runs({study.root.string()});
  ResultGrid grid = build_grid(runs, {"model", "method", "budget"}, false);
  const std::string csv = to_csv(accuracy_table(grid));
  EXPECT_THAT(csv, HasSubstr("task_a_mean,task_a_stderr,task_a_n,task_a_flag"));
  EXPECT_THAT(csv, HasSubstr("\"{\"\"recent_tokens\"\":256}\""));  // exact params, CSV-quoted
  std::istringstream in(tidy_jsonl(runs));
  std::string line;
  size_t score_rows = 0;
  while (std::getline(in, line)) {
    json row = json::parse(line);
    for (const char* k : {"dir", "task", "method", "kind", "metric", "stat", "value"}) EXPECT_TRUE(row.contains(k)) << line;
    if (row["kind"] == "score") {
      ++score_rows;
      RunRecord r = load_run(row["dir"].get<std::string>());
      EXPECT_EQ(row["value"].get<double>(), r.metrics["scores"]["acc"]["mean"].get<double>());
    }
  }
  EXPECT_EQ(score_rows, 6u);
  const std::string console = format_results_table(runs);
  EXPECT_THAT(console, HasSubstr("KV+meta MiB on cpu"));
  EXPECT_THAT(console, Not(HasSubstr("GPU")));
}

bool starts_with_bytes(const fs::path& path, const std::string& magic) {
  std::ifstream in(path, std::ios::binary);
  std::string head(magic.size(), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  return head == magic;
}

TEST(ReportPlots, AllFourKindsAsSvgPngPdfAndAnOfflineHtml) {
  fs::path root = scratch("plots");
  for (int budget : {0, 128}) {
    SyntheticRun run;
    run.task = "niah_like";
    run.method = budget ? "streaming_llm" : "full";
    if (budget) run.method_params = {{"recent_tokens", budget}};
    run.budget_total = budget;
    for (int length : {500, 900})
      for (int depth : {0, 50, 100}) {
        SyntheticSample s;
        s.id = std::to_string(length) + "_" + std::to_string(depth);
        s.score = (budget && depth == 50) ? 0 : 1;
        s.input_tokens = length;
        s.metadata = {{"context_length", length}, {"depth_percent", depth}};
        run.samples.push_back(s);
      }
    testing::write_synthetic_run(root, run);
  }
  ReportOptions options;
  options.out_dir = root / "out";
  const std::vector<RunRecord> runs = load_runs({root.string()});
  write_report(runs, options);
  std::set<std::string> kinds;
  for (const auto& e : fs::directory_iterator(options.out_dir / "plots")) {
    const std::string name = e.path().filename().string();
    kinds.insert(name.substr(0, name.find("__") == std::string::npos ? name.find('.') : name.find("__")));
    if (e.path().extension() == ".png") EXPECT_TRUE(starts_with_bytes(e.path(), "\x89PNG\r\n\x1a\n")) << name;
    if (e.path().extension() == ".pdf") EXPECT_TRUE(starts_with_bytes(e.path(), "%PDF-")) << name;
    if (e.path().extension() == ".svg") EXPECT_TRUE(starts_with_bytes(e.path(), "<?xml")) << name;
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"accuracy_vs_budget", "niah_heatmap", "ttft_vs_context", "tpot_vs_context",
                                          "memory_vs_context"}));
  std::ifstream html_in(options.out_dir / "report.html");
  std::stringstream html;
  html << html_in.rdbuf();
  const std::string h = html.str();
  EXPECT_THAT(h, Not(HasSubstr("<script")));
  EXPECT_THAT(h, Not(HasSubstr("src=\"http")));
  EXPECT_THAT(h, Not(HasSubstr("href=\"http")));
  EXPECT_THAT(h, HasSubstr("<svg"));
  EXPECT_THAT(h, HasSubstr("samples.jsonl\">samples.jsonl</a>"));
  // Glyph ids are unique across the inlined figures.
  std::set<std::string> ids;
  std::regex id_re("id=\"([^\"]+)\"");
  for (auto it = std::sregex_iterator(h.begin(), h.end(), id_re); it != std::sregex_iterator(); ++it)
    EXPECT_TRUE(ids.insert((*it)[1]).second) << "duplicate id " << (*it)[1];
}

}  // namespace
}  // namespace kvbench
