// SPDX-License-Identifier: Apache-2.0
// `kvbench slurm CONFIG`: writes an sbatch script for a Slurm job array whose task i runs
// `kvbench run CONFIG --shard i/N` (harness/run/shard.h), with a `%` throttle, per-task output and
// error files (appended across requeues), --requeue, and a bounded requeue of a task that ends
// with a run failure; then submits it with `sbatch --parsable` unless --dry-run.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace kvbench {

struct SlurmArgs {
  std::string config;
  std::vector<std::string> overrides;
  int limit = 0;
  std::string out;
  size_t array_size = 0;       // 0: one task per work unit (at most 1000)
  size_t gpus_per_task = 0;
  size_t cpus_per_task = 0;    // 0: not set (the cluster's default)
  std::string mem, time, partition, account, qos, job_name;
  size_t max_parallel = 0;     // the array's % throttle (0: none)
  size_t max_requeues = 2;     // requeues of a task that failed (not of config errors)
  std::string script_dir;      // default: <output.dir>/slurm
  std::vector<std::string> sbatch_args;  // extra #SBATCH lines, verbatim
  bool dry_run = false;
};

// Everything the script says; paths are absolute.
struct SbatchScript {
  std::string job_name;
  size_t array_size = 1;
  size_t max_parallel = 0;
  size_t gpus_per_task = 0, cpus_per_task = 0, max_requeues = 2;
  std::string mem, time, partition, account, qos;
  std::vector<std::string> extra_sbatch;
  std::string log_dir;          // output/error files: <log_dir>/<job>-<array job id>_<task id>.out|.err
  std::string workdir;          // the task's working directory (where kvbench slurm ran)
  std::vector<std::string> run_command;  // kvbench run CONFIG ... (without --shard)
};

// The script text (deterministic: a test compares it).
std::string sbatch_script_text(const SbatchScript& script);
// `text` quoted for bash (single quotes; safe for any byte but NUL).
std::string shell_quote(const std::string& text);

CLI::App* add_slurm_command(CLI::App& app, SlurmArgs& args);
int run_slurm_command(const SlurmArgs& args, const char* argv0);

}  // namespace kvbench
