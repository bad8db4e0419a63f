// SPDX-License-Identifier: Apache-2.0
// kvbench command line: run, validate, list, data check|fetch, report, compare, rescore, status, slurm. Errors are one line on stderr ("kvbench: error: ...");
// exit code 2 for usage/config/input errors, 1 for run failures, 130 when interrupted.
#include "harness/cli/data_commands.h"
#include "harness/cli/report_commands.h"
#include "harness/cli/slurm_command.h"
#include "harness/cli/status_command.h"
#include "harness/cli/workers.h"
#include "harness/engine/engine.h"
#include "harness/error.h"
#include "harness/model/weight_memory.h"
#include "harness/registry.h"
#include "harness/run/run_config.h"
#include "harness/run/run_store.h"
#include "harness/run/cell_group.h"
#include "harness/run/cell_run.h"
#include "harness/run/runner.h"
#include "harness/run/sharded_run.h"
#include "reports/results_table.h"
#include "reports/run_index.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

namespace kvbench {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

struct CommonRunArgs {
  std::string config;
  std::vector<std::string> overrides;
  int limit = 0;
  std::string out;
};

void add_common(CLI::App* cmd, CommonRunArgs& args) {
  cmd->add_option("config", args.config, "YAML or JSON config (may contain a sweep)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", args.overrides, "override a key: key.path=value (repeatable)");
  cmd->add_option("--limit", args.limit, "run only the first N samples of each run")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", args.out, "root of the run directories (overrides output.dir)");
}

std::vector<RunConfig> load(const CommonRunArgs& args) {
  std::vector<std::string> overrides = args.overrides;
  if (args.limit > 0) overrides.push_back("task.limit=" + std::to_string(args.limit));
  if (!args.out.empty()) overrides.push_back("output.dir=" + args.out);
  return load_runs(args.config, overrides);
}

std::string params_text(const ParamSpecs& specs) {
  std::string out;
  for (const auto& p : specs)
    out += (out.empty() ? "" : ", ") + p.name + "=" + p.default_value.dump();
  return out.empty() ? "(no parameters)" : out;
}

int cmd_list(const std::string& kind, bool as_json) {
  static const std::map<std::string, std::string> kinds = {{"methods", "method"},
                                                           {"tasks", "task"},
                                                           {"metrics", "metric"},
                                                           {"architectures", "architecture"}};
  const std::string& key = kinds.at(kind);
  const auto& entries = catalog()[key];
  if (as_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, e] : entries) {
      nlohmann::json params = nlohmann::json::array();
      for (const auto& p : e.params)
        params.push_back({{"name", p.name}, {"type", param_type_name(p.type)},
                          {"default", p.default_value}, {"help", p.help}});
      out.push_back({{"name", name}, {"description", e.description}, {"params", params},
                     {"extra", e.extra}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (entries.empty()) {
    std::cout << "(no " << kind << " in this build)\n";
    return 0;
  }
  for (const auto& [name, e] : entries) {
    std::cout << name << "  -  " << e.description << "\n";
    if (!e.params.empty()) std::cout << "    defaults: " << params_text(e.params) << "\n";
    if (e.extra.value("padded_batches", false)) std::cout << "    generation.batch_size > 1: yes (left-padded batches)\n";
    if (e.extra.contains("shared_prefill")) {
      std::string uses;
      for (const auto& field : e.extra["shared_prefill"].value("uses", nlohmann::json::array()))
        uses += (uses.empty() ? "" : ", ") + field.get<std::string>();
      std::cout << "    shared prefill: yes (reads " << (uses.empty() ? "keys and values only" : "keys, values, " + uses)
                << " of the recording)\n";
    }
    if (e.extra.contains("protocols"))
      std::cout << "    protocols: " << e.extra["protocols"].dump() << " (default "
                << e.extra.value("default_protocol", "") << ")\n";
  }
  return 0;
}

int cmd_validate(const CommonRunArgs& args, bool as_json) {
  std::vector<RunConfig> runs = load(args);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& run : runs) {
    RunPlan plan = plan_run(run);
    std::string model_path = run.resolved["model"]["path"].is_string()
                                 ? run.resolved["model"]["path"].get<std::string>()
                                 : "";
    if (as_json) {
      out.push_back({{"dir", plan.dir.string()}, {"axes", run.axes}, {"config", run.resolved},
                     {"dataset_sha256", plan.dataset_sha256}});
    } else {
      std::cout << plan.dir.string() << (run.axes.empty() ? "" : "  " + run.axes.dump()) << "\n";
      if (model_path.empty())
        std::cout << "    warning: model.path is not set; `kvbench run` needs it\n";
      else if (!std::filesystem::is_directory(model_path))
        std::cout << "    warning: model.path " << model_path << " is not a directory (yet)\n";
    }
  }
  if (as_json)
    std::cout << out.dump(2) << "\n";
  else
    std::cout << runs.size() << (runs.size() == 1 ? " run" : " runs") << "\n";
  return 0;
}

// A run that failed as a whole: one line on stderr, run.json "failed" with the error in its
// directory (samples recorded before stay), and its row for the results table.
RunRecord record_failed_run(const RunPlan& plan, const std::string& error) {
  std::cerr << "kvbench: error: run " << plan.dir.string() << " failed: " << error << "\n";
  std::error_code ec;  // a run that failed before it started (model too large) gets its directory
  std::filesystem::create_directories(plan.dir, ec);
  record_run_failure(plan.dir, error);
  if (std::filesystem::is_regular_file(plan.dir / "config.json")) return load_run(plan.dir);
  const nlohmann::json& resolved = plan.run.resolved;
  RunRecord record;  // a run that never started: what its plan knows
  record.dir = plan.dir;
  record.config = resolved;
  record.env = nlohmann::json::object();
  record.metrics = nlohmann::json::object();
  record.label = plan.label;
  record.hash = plan.hash;
  record.task = resolved["task"]["name"].get<std::string>();
  record.protocol = resolved["task"]["protocol"].get<std::string>();
  record.model = resolved["model"]["name"].is_string() ? resolved["model"]["name"].get<std::string>() : "";
  record.method = resolved["method"]["name"].get<std::string>();
  record.method_params = resolved["method"]["params"].dump();
  record.status = "failed";
  record.run_json = {{"status", "failed"}, {"error", error}};
  return record;
}

int cmd_run(const CommonRunArgs& args, bool retry_errors, bool no_progress, bool allow_version_mix,
            const ShardSpec& shard, const std::string& expect_sweep) {
  std::vector<RunConfig> runs = load(args);
  std::vector<RunPlan> plans;
  for (const auto& run : runs) {
    plans.push_back(plan_run(run));
    KVBENCH_CHECK_CONFIG(plans.back().run.resolved["model"]["path"].is_string(),
                         "model.path: required to run (", args.config, ")");
  }
  const ShardPlan shard_plan = make_shard_plan(plans, shard.count);
  KVBENCH_CHECK_CONFIG(expect_sweep.empty() || expect_sweep == shard_plan.sweep_id(), args.config,
                       ": expands to sweep ", shard_plan.sweep_id(), ", not ", expect_sweep,
                       " (--expect-sweep): the config changed since the job was submitted; submit it again");
  write_sweep_manifests(plans, args.config);
  if (shard.sharded()) {
    // Only the cells with a unit of this shard are run (the others are not even opened).
    size_t total = plans.size();
    plans.erase(std::remove_if(plans.begin(), plans.end(),
                               [&](const RunPlan& plan) { return !cell_share(plan, shard, &shard_plan).any(); }),
                plans.end());
    std::cerr << "[shard " << shard.text() << "] " << plans.size() << " of " << total
              << (total == 1 ? " run" : " runs") << " have work units in this shard\n";
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const auto* factory = EngineRegistry::instance().find("hf");
  KVBENCH_CHECK(factory != nullptr, "this kvbench build has no model engine");
  RunOptions options;
  options.retry_errors = retry_errors;
  options.allow_version_mix = allow_version_mix;
  options.stop = &g_stop;
  options.progress = !no_progress;
  options.shard = shard;
  options.shard_plan = &shard_plan;
  std::vector<RunRecord> results;  // the console table reads each run directory as `kvbench report` does
  // Engines by engine_config (model + method): the current group's. Runs with the same config share
  // one engine, and engines of one model share one loaded model (harness/engine/hf_engine.cpp), so a
  // sweep loads each model once while its groups follow each other; every other setting of a run
  // reaches the engine with each sample.
  std::map<std::string, std::unique_ptr<Engine>> engines;
  std::vector<std::string> release;  // engines of failed runs, freed when their group is done
  bool failed = false;
  // A cell that failed: errors that would fail every later run too (config/input errors, an output
  // directory that cannot be written) end the whole sweep with one line; a run another process is
  // writing is left to it; anything else (out of memory: std::bad_alloc, LibTorch's allocator and
  // CUDA errors, while loading the model or running) fails this run, releases its engine (after the
  // group, whose other cells may share it), and the sweep goes on.
  auto cell_failed = [&](const RunPlan& plan, std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      if (e.exit_code() == 2 || e.kind() == ErrorKind::kOutput) throw;
      failed = true;
      if (e.kind() == ErrorKind::kBusy) {
        std::cerr << "kvbench: run " << plan.dir.string()
                  << " skipped: another kvbench process is writing it (left untouched)\n";
        return;
      }
      release.push_back(engine_config(plan.run.resolved).dump());
      results.push_back(record_failed_run(plan, e.what()));
    } catch (const std::exception& e) {
      failed = true;
      release.push_back(engine_config(plan.run.resolved).dump());
      results.push_back(record_failed_run(plan, e.what()));
    }
  };
  // Cells sharing a prefill run as one group, sample by sample (harness/run/cell_group.h); every
  // other cell is a group of its own.
  for (const std::vector<size_t>& group : prefill_groups(plans)) {
    if (g_stop.load()) break;
    // Engines of another model are freed before this group loads its model (one group: one model).
    const std::string model_key = plans[group.front()].run.resolved["model"].dump();
    for (auto it = engines.begin(); it != engines.end();)
      it = nlohmann::json::parse(it->first)["model"].dump() == model_key ? std::next(it) : engines.erase(it);
    std::map<std::string, std::unique_ptr<Engine>> previous = std::move(engines);
    engines.clear();
    std::vector<std::unique_ptr<CellRun>> cells;
    for (size_t index : group) {
      RunPlan& plan = plans[index];
      try {
        const std::string key = engine_config(plan.run.resolved).dump();
        if (!engines.count(key)) {
          auto reused = previous.find(key);
          if (reused != previous.end()) {
            engines[key] = std::move(reused->second);
          } else {
            check_weight_memory_limit(plan.run.resolved["model"]);
            engines[key] = factory->make(nlohmann::json::object())->create(engine_config(plan.run.resolved));
          }
        }
        cells.push_back(std::make_unique<CellRun>(plan, *engines[key], options));
      } catch (...) {
        cell_failed(plan, std::current_exception());
      }
    }
    previous.clear();  // the last group's engines this one does not use
    bool interrupted = false;
    try {
      std::vector<CellRun*> open;
      for (auto& cell : cells) open.push_back(cell.get());
      if (open.size() > 1) interrupted = run_cell_group(open, &g_stop);
      if (open.size() == 1) interrupted = run_pending(*open.front(), &g_stop);
    } catch (...) {
      const std::exception_ptr error = std::current_exception();
      for (auto& cell : cells) cell_failed(cell->plan(), error);
      cells.clear();
    }
    for (auto& cell : cells) {
      try {
        RunOutcome outcome = cell->finish(interrupted);
        results.push_back(load_run(outcome.dir));
        std::cerr << "[run] " << outcome.status << ": " << outcome.dir.string() << " (" << outcome.ran
                  << " run, " << outcome.skipped << " already recorded)\n";
      } catch (...) {
        cell_failed(cell->plan(), std::current_exception());
      }
    }
    cells.clear();
    for (const std::string& key : release) engines.erase(key);
    release.clear();
  }
  if (!results.empty()) std::cout << format_results_table(results);
  if (g_stop.load()) {
    std::cerr << "kvbench: interrupted; re-run the same command to resume\n";
    return 130;
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace kvbench

int main(int argc, char** argv) {
  using namespace kvbench;
  CLI::App app{"kvbench: evaluate KV-cache compression and offloading methods on long-context tasks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", KVBENCH_VERSION);

  CommonRunArgs run_args;
  bool retry_errors = false, no_progress = false, allow_version_mix = false;
  std::string shard_text, expect_sweep;
  size_t workers = 0;
  CLI::App* run = app.add_subcommand("run", "Run one config or a whole sweep (resumes where it stopped)");
  add_common(run, run_args);
  run->add_option("--shard", shard_text,
                  "run only shard i of N (0-based) of the sweep's work units: cells, and sample groups of "
                  "cells with output.sample_groups > 1 (see README: Running a sweep on a cluster)");
  run->add_option("--workers", workers,
                  "run N child processes, one shard each (one visible GPU each when there are GPUs)")
      ->check(CLI::Range(1, 1024));
  run->add_option("--expect-sweep", expect_sweep,
                  "refuse to run (exit 2) unless the config expands to this sweep id (kvbench slurm passes it)");
  run->add_flag("--retry-errors", retry_errors, "run again the samples recorded with an error");
  run->add_flag("--no-progress", no_progress, "no progress bar or progress log lines");
  run->add_flag("--allow-version-mix", allow_version_mix,
                "resume runs recorded by another kvbench version or with other model weights");
  run->footer(
      "Examples:\n"
      "  kvbench run configs/demo.yaml\n"
      "  kvbench run configs/sweeps/kv_methods_e2e.yaml --limit 5 --out /tmp/runs\n"
      "  kvbench run configs/smoke.yaml --set method.name=full --set generation.max_new_tokens=16\n"
      "  kvbench run configs/ci/report_sweep.yaml --shard 0/4      # one of 4 array tasks\n"
      "  kvbench run configs/ci/report_sweep.yaml --workers 8      # 8 processes, one GPU each\n"
      "Re-running the same command skips the samples already recorded in each run directory.");

  CommonRunArgs validate_args;
  bool validate_json = false;
  CLI::App* validate = app.add_subcommand("validate", "Expand and validate a config or sweep; run nothing");
  add_common(validate, validate_args);
  validate->add_flag("--json", validate_json, "print the resolved runs as JSON");
  validate->footer(
      "Examples:\n"
      "  kvbench validate configs/sweeps/kv_methods_e2e.yaml\n"
      "  kvbench validate configs/smoke.yaml --set task.limit=3 --json");

  std::string list_kind;
  bool list_json = false;
  CLI::App* list = app.add_subcommand("list", "List what this build implements");
  list->add_option("kind", list_kind, "methods | tasks | metrics | architectures")
      ->required()
      ->check(CLI::IsMember({"methods", "tasks", "metrics", "architectures"}));
  list->add_flag("--json", list_json, "machine-readable output");
  list->footer("Examples:\n  kvbench list methods\n  kvbench list tasks --json");

  DataCommandArgs data_args;
  std::string data_root, checksums, sources;
  CLI::App* data = app.add_subcommand("data", "Check or download the official data files");
  data->require_subcommand(1);
  data->footer("Examples:\n  kvbench data check\n  kvbench data fetch narrativeqa --data-root ~/data");
  auto add_data_common = [&](CLI::App* cmd) {
    cmd->add_option("--data-root", data_root,
                    "data folder (default: $KVBENCH_DATA_DIR or ../shared/data, as task.data_root)");
    cmd->add_option("--checksums", checksums,
                    "checksum table to verify against (default: each group's, under the data root)");
    cmd->add_option("--sources", sources, "data source registry (default: datasets/data_sources.json)");
  };
  CLI::App* data_check = data->add_subcommand(
      "check", "Verify local data files against the official sizes and sha256 checksums");
  add_data_common(data_check);
  data_check->add_option("names", data_args.names, "files or groups to check (default: all)");
  data_check->add_flag("--json", data_args.json, "machine-readable output");
  data_check->add_flag("--allow-missing", data_args.allow_missing, "missing files do not fail the check");
  data_check->footer(
      "Verdicts: ok (byte-identical), equivalent (same content as gzip and/or with LF line endings\n"
      "where the official file has CRLF), differs (expected vs actual size and sha256), missing.\n"
      "Exit code 1 when a selected file differs or is missing (unless --allow-missing).\n"
      "Examples:\n"
      "  kvbench data check\n"
      "  kvbench data check multi_news passage_retrieval_zh\n"
      "  kvbench data check longbench --data-root ~/data --allow-missing --json");
  CLI::App* data_fetch = data->add_subcommand(
      "fetch", "Download official data files (resumable), verify size and sha256, install atomically");
  add_data_common(data_fetch);
  data_fetch->add_option("names", data_args.names, "files or groups to fetch")->required();
  data_fetch->add_option("--base-url", data_args.sources.base_url,
                         "download from this URL prefix instead of the registry's (a mirror)");
  data_fetch->add_option("--retries", data_args.retries, "retries after a dropped connection (resuming)")
      ->check(CLI::NonNegativeNumber);
  data_fetch->add_flag_function("--no-progress", [&](int64_t) { data_args.progress = false; }, "no progress lines");
  data_fetch->footer(
      "LongBench comes as one archive (data.zip of the Hugging Face dataset THUDM/LongBench): it is\n"
      "downloaded once to <data-root>/downloads/longbench/ and the named files are extracted from it.\n"
      "An interrupted download resumes from its .part file when run again.\n"
      "Examples:\n"
      "  kvbench data fetch narrativeqa qasper --data-root ~/data\n"
      "  kvbench data fetch longbench --data-root ~/data\n"
      "  kvbench data fetch hotpotqa_e --data-root ~/data --base-url http://mirror.example/LongBench/");

  ReportArgs report_args;
  CLI::App* report = add_report_command(app, report_args);
  CompareArgs compare_args;
  CLI::App* compare = add_compare_command(app, compare_args);
  RescoreArgs rescore_args;
  CLI::App* rescore = add_rescore_command(app, rescore_args);
  StatusArgs status_args;
  CLI::App* status = add_status_command(app, status_args);
  SlurmArgs slurm_args;
  CLI::App* slurm = add_slurm_command(app, slurm_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (*run) {
      const ShardSpec shard = shard_text.empty() ? ShardSpec{} : parse_shard(shard_text);
      if (workers > 1) return run_workers(worker_base_args(argc, argv), shard, workers);
      return cmd_run(run_args, retry_errors, no_progress, allow_version_mix, shard, expect_sweep);
    }
    if (*status) return run_status_command(status_args);
    if (*slurm) return run_slurm_command(slurm_args, argv[0]);
    if (*validate) return cmd_validate(validate_args, validate_json);
    if (*list) return cmd_list(list_kind, list_json);
    if (*report) return run_report_command(report_args);
    if (*compare) return run_compare_command(compare_args);
    if (*rescore) return run_rescore_command(rescore_args);
    if (*data) {
      data_args.sources.data_root = data_root;
      data_args.sources.checksums = checksums;
      data_args.sources.sources = sources;
      if (*data_check) return run_data_check(data_args);
      return run_data_fetch(data_args);
    }
  } catch (const Error& e) {
    std::cerr << "kvbench: error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "kvbench: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
