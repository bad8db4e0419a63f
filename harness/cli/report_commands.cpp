// SPDX-License-Identifier: Apache-2.0
#include "harness/cli/report_commands.h"

#include "harness/cli/rescore.h"
#include "harness/error.h"
#include "harness/run/run_store.h"
#include "reports/compare.h"
#include "reports/report.h"
#include "reports/result_grid.h"
#include "reports/run_index.h"

#include <iostream>

namespace kvbench {

CLI::App* add_report_command(CLI::App& app, ReportArgs& args) {
  CLI::App* cmd = app.add_subcommand("report", "Tables, plots, an HTML report and exports from run directories");
  cmd->add_option("runs", args.runs, "run directories or folders holding them (sweeps, shards)")->required();
  cmd->add_option("--out", args.out, "output folder (default: report)");
  cmd->add_option("--format", args.formats,
                  "comma list of md,tex,csv,json,plots,html,lmeval,kvpress (default: all)");
  cmd->add_option("--group-by", args.group_by,
                  "row fields, comma list of model,method,budget,protocol,device (default: model,method,budget)");
  cmd->add_flag("--allow-mixed", args.allow_mixed,
                "pool runs of different protocols, dataset hashes or kvbench versions in one cell (marked)");
  cmd->footer(
      "Writes tables.md, tables.tex (+ tables_document.tex), <table>.csv, results.jsonl, plots/*.svg|png|pdf,\n"
      "report.html, lm_eval/results_*.json and kvpress.csv. Partial, failed and missing runs are marked\n"
      "in every table.\n"
      "Examples:\n"
      "  kvbench report runs/kv_methods_e2e --out report\n"
      "  kvbench report runs/sweep_a runs/sweep_b --format md,tex --group-by model,method\n"
      "  kvbench report runs/ --format html --out /tmp/report && chromium /tmp/report/report.html");
  return cmd;
}

CLI::App* add_compare_command(CLI::App& app, CompareArgs& args) {
  CLI::App* cmd = app.add_subcommand("compare", "Regression verdicts: NEW runs against BASE runs (exit 0/1/2)");
  cmd->add_option("base", args.base, "baseline run directory or folder of runs")->required();
  cmd->add_option("new", args.candidate, "candidate run directory or folder of runs")->required();
  cmd->add_option("--fail-on", args.fail_on, "comma list of accuracy,latency,memory (default: all three)");
  cmd->add_option("--alpha", args.alpha, "significance level (default 0.05)")->check(CLI::Range(1e-6, 0.5));
  cmd->add_option("--resamples", args.resamples, "bootstrap resamples (default 10000)")->check(CLI::Range(100, 10000000));
  cmd->add_option("--seed", args.seed, "bootstrap seed (default 0)");
  cmd->add_option("--accuracy-tolerance", args.accuracy_tolerance,
                  "score drop (absolute) tolerated even when significant (default 0)");
  cmd->add_option("--latency-tolerance", args.latency_tolerance,
                  "slow-down of the median tolerated, relative (default 0.10)");
  cmd->add_option("--memory-tolerance", args.memory_tolerance, "memory growth tolerated, relative (default 0)");
  cmd->add_option("--json", args.json_out, "also write every number to this JSON file");
  cmd->footer(
      "Exit code: 0 nothing regressed, 1 something regressed (named in the summary), 2 bad input.\n"
      "Examples:\n"
      "  kvbench compare reports/baselines/ci_cpu runs/ci --fail-on accuracy,memory\n"
      "  kvbench compare runs/before runs/after --alpha 0.01 --json compare.json");
  return cmd;
}

CLI::App* add_rescore_command(CLI::App& app, RescoreArgs& args) {
  CLI::App* cmd = app.add_subcommand("rescore", "Score stored predictions again with this build's scorers");
  cmd->add_option("runs", args.runs, "run directories or folders holding them")->required();
  cmd->footer(
      "Rewrites each run's sample scores and metrics.json when the current scorers give other numbers;\n"
      "predictions are never changed and an unchanged run is left byte-identical.\n"
      "Examples:\n"
      "  kvbench rescore runs/kv_methods_e2e\n"
      "  kvbench rescore runs/a/niah.classic/niah.gkamradt/smollm2/full/default__1234abcd");
  return cmd;
}

int run_report_command(const ReportArgs& args) {
  ReportOptions options;
  options.out_dir = args.out;
  options.formats = parse_formats(args.formats);
  options.group_by = parse_group_by(args.group_by);
  options.allow_mixed = args.allow_mixed;
  std::vector<RunRecord> runs = load_runs(args.runs);
  ReportOutput out = write_report(runs, options);
  std::cout << out.accuracy_markdown << "\n";
  size_t not_complete = 0;
  for (const auto& r : runs) not_complete += r.is_clean() ? 0 : 1;
  std::cerr << "[report] " << runs.size() << " runs (" << not_complete << " not complete), " << out.files.size()
            << " files written to " << options.out_dir.string() << "\n";
  return 0;
}

int run_compare_command(const CompareArgs& args) {
  CompareOptions options;
  options.fail_on = parse_fail_on(args.fail_on);
  options.alpha = args.alpha;
  options.resamples = args.resamples;
  options.seed = args.seed;
  options.accuracy_tolerance = args.accuracy_tolerance;
  options.latency_tolerance = args.latency_tolerance;
  options.memory_tolerance = args.memory_tolerance;
  std::vector<RunRecord> base = load_runs({args.base});
  std::vector<RunRecord> candidate = load_runs({args.candidate});
  CompareResult result = compare_runs(base, candidate, options);
  std::cout << result.markdown;
  if (!args.json_out.empty())
    write_file_atomic(args.json_out, nlohmann::json({{"cells", result.cells},
                                                     {"regressions", result.regressions},
                                                     {"alpha", options.alpha},
                                                     {"resamples", options.resamples},
                                                     {"seed", options.seed}}).dump(2) + "\n");
  return result.exit_code();
}

int run_rescore_command(const RescoreArgs& args) {
  for (const auto& dir : find_run_dirs(args.runs)) {
    RescoreOutcome o = rescore_run(dir);
    std::cout << dir.string() << ": " << o.rescored << " predictions rescored, " << o.scores_changed
              << " with new scores, metrics.json " << (o.metrics_changed ? "updated" : "unchanged") << "\n";
  }
  return 0;
}

}  // namespace kvbench
