// SPDX-License-Identifier: Apache-2.0
#include "harness/cli/slurm_command.h"

#include "harness/error.h"
#include "harness/run/run_config.h"
#include "harness/run/run_store.h"
#include "harness/run/runner.h"
#include "harness/run/sharded_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace kvbench {
namespace {

namespace fs = std::filesystem;

fs::path self_executable(const char* argv0) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::absolute(argv0) : self;
}

}  // namespace

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string sbatch_script_text(const SbatchScript& s) {
  std::ostringstream o;
  o << "#!/bin/bash\n"
    << "# Written by `kvbench slurm`: array task i runs shard i of " << s.array_size << " of the sweep.\n"
    << "#SBATCH --job-name=" << s.job_name << "\n"
    << "#SBATCH --array=0-" << s.array_size - 1;
  if (s.max_parallel > 0) o << "%" << s.max_parallel;
  o << "\n"
    << "#SBATCH --ntasks=1\n"
    << "#SBATCH --output=" << s.log_dir << "/%x-%A_%a.out\n"
    << "#SBATCH --error=" << s.log_dir << "/%x-%A_%a.err\n"
    << "#SBATCH --open-mode=append\n"
    << "#SBATCH --requeue\n";
  if (s.gpus_per_task > 0) o << "#SBATCH --gres=gpu:" << s.gpus_per_task << "\n";
  if (s.cpus_per_task > 0) o << "#SBATCH --cpus-per-task=" << s.cpus_per_task << "\n";
  if (!s.mem.empty()) o << "#SBATCH --mem=" << s.mem << "\n";
  if (!s.time.empty()) o << "#SBATCH --time=" << s.time << "\n";
  if (!s.partition.empty()) o << "#SBATCH --partition=" << s.partition << "\n";
  if (!s.account.empty()) o << "#SBATCH --account=" << s.account << "\n";
  if (!s.qos.empty()) o << "#SBATCH --qos=" << s.qos << "\n";
  for (const auto& extra : s.extra_sbatch) o << "#SBATCH " << extra << "\n";
  o << "set -u\n"
    << "cd " << shell_quote(s.workdir) << "\n"
    << "shards=" << s.array_size << "\n"
    << "echo \"[slurm] $(date -u +%FT%TZ) job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname),"
       " restart ${SLURM_RESTART_COUNT:-0}: shard ${SLURM_ARRAY_TASK_ID}/${shards}\" >&2\n";
  for (size_t i = 0; i < s.run_command.size(); ++i) o << (i ? " " : "") << shell_quote(s.run_command[i]);
  o << " \\\n    --shard \"${SLURM_ARRAY_TASK_ID}/${shards}\" --no-progress";
  if (s.gpus_per_task > 1) o << " --workers " << s.gpus_per_task;
  o << "\n"
    << "code=$?\n"
    << "echo \"[slurm] $(date -u +%FT%TZ) kvbench exited with code $code\" >&2\n"
    << "# A run failure (1) or a kill (>= 128) is retried by requeueing this task (it resumes);\n"
    << "# a config or input error (2) is not.\n"
    << "if [ \"$code\" -ne 0 ] && [ \"$code\" -ne 2 ] && [ \"${SLURM_RESTART_COUNT:-0}\" -lt " << s.max_requeues
    << " ]; then\n"
    << "  echo \"[slurm] requeueing ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\" >&2\n"
    << "  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n"
    << "fi\n"
    << "exit \"$code\"\n";
  return o.str();
}

CLI::App* add_slurm_command(CLI::App& app, SlurmArgs& args) {
  CLI::App* cmd = app.add_subcommand("slurm", "Write (and submit) a Slurm job array that runs a sweep, one shard per task");
  cmd->add_option("config", args.config, "YAML or JSON config (may contain a sweep)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--set", args.overrides, "override a key: key.path=value (repeatable)");
  cmd->add_option("--limit", args.limit, "run only the first N samples of each run")->check(CLI::PositiveNumber);
  cmd->add_option("--out", args.out, "root of the run directories (overrides output.dir)");
  cmd->add_option("--array-size", args.array_size, "array tasks = shards (default: one per work unit, at most 1000)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--gpus-per-task", args.gpus_per_task,
                  "GPUs per array task (--gres=gpu:G); G > 1 runs G workers, one shard each")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--cpus-per-task", args.cpus_per_task, "CPUs per array task")->check(CLI::Range(1, 4096));
  cmd->add_option("--mem", args.mem, "memory per task (sbatch --mem, e.g. 64G)");
  cmd->add_option("--time", args.time, "time limit per task (sbatch --time, e.g. 04:00:00)");
  cmd->add_option("--partition", args.partition, "partition");
  cmd->add_option("--account", args.account, "account");
  cmd->add_option("--qos", args.qos, "quality of service");
  cmd->add_option("--max-parallel", args.max_parallel, "at most K tasks at once (the array's %K throttle)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-requeues", args.max_requeues, "requeue a task that failed at most R times (default 2)")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--job-name", args.job_name, "job name (default: kvbench-<config name>)");
  cmd->add_option("--script-dir", args.script_dir, "where the script and logs go (default: <output.dir>/slurm)");
  cmd->add_option("--sbatch-arg", args.sbatch_args, "an extra #SBATCH line, verbatim (repeatable), e.g. --constraint=h100");
  cmd->add_flag("--dry-run", args.dry_run, "write the script and print its path; do not submit");
  cmd->footer(
      "Every task runs `kvbench run CONFIG --shard $SLURM_ARRAY_TASK_ID/N`: the shards together run every\n"
      "work unit once, into the same run directories. A requeued or resubmitted task resumes.\n"
      "Examples:\n"
      "  kvbench slurm configs/sweeps/kv_methods_e2e.yaml --array-size 16 --gpus-per-task 1 --time 04:00:00\n"
      "  kvbench slurm study.yaml --array-size 64 --max-parallel 8 --partition gpu --dry-run\n"
      "  kvbench status runs/study");
  return cmd;
}

int run_slurm_command(const SlurmArgs& args, const char* argv0) {
  std::vector<std::string> overrides = args.overrides;
  if (args.limit > 0) overrides.push_back("task.limit=" + std::to_string(args.limit));
  if (!args.out.empty()) overrides.push_back("output.dir=" + fs::absolute(args.out).string());
  // The sweep is planned here, as each task will: a config error fails now, not in 100 tasks.
  std::vector<RunPlan> plans;
  size_t units = 0;
  for (const auto& run : load_runs(args.config, overrides)) {
    plans.push_back(plan_run(run));
    KVBENCH_CHECK_CONFIG(plans.back().run.resolved["model"]["path"].is_string(), "model.path: required to run (",
                         args.config, ")");
    units += sample_groups(plans.back());
  }
  KVBENCH_CHECK_CONFIG(!plans.empty(), args.config, ": no runs");
  write_sweep_manifests(plans, args.config);
  const fs::path output_dir = fs::absolute(plans.front().run.resolved["output"]["dir"].get<std::string>());

  SbatchScript s;
  s.job_name = args.job_name.empty() ? "kvbench-" + fs::path(args.config).stem().string() : args.job_name;
  s.array_size = args.array_size > 0 ? args.array_size : std::min<size_t>(units, 1000);
  s.max_parallel = args.max_parallel;
  s.gpus_per_task = args.gpus_per_task;
  s.cpus_per_task = args.cpus_per_task;
  s.max_requeues = args.max_requeues;
  s.mem = args.mem;
  s.time = args.time;
  s.partition = args.partition;
  s.account = args.account;
  s.qos = args.qos;
  s.extra_sbatch = args.sbatch_args;
  const fs::path script_dir = args.script_dir.empty() ? output_dir / "slurm" : fs::absolute(args.script_dir);
  s.log_dir = (script_dir / "logs").string();
  s.workdir = fs::current_path().string();
  s.run_command = {self_executable(argv0).string(), "run", fs::absolute(args.config).string()};
  for (const auto& o : overrides) s.run_command.insert(s.run_command.end(), {"--set", o});
  s.run_command.insert(s.run_command.end(), {"--expect-sweep", make_shard_plan(plans, 1).sweep_id()});

  std::error_code ec;
  fs::create_directories(s.log_dir, ec);  // Slurm does not create the folders of --output/--error
  KVBENCH_CHECK_KIND(ErrorKind::kOutput, !ec, s.log_dir, ": cannot create: ", ec.message());
  const fs::path script = script_dir / (s.job_name + ".sbatch");
  write_file_atomic(script, sbatch_script_text(s));
  std::cerr << "[slurm] " << plans.size() << (plans.size() == 1 ? " run, " : " runs, ") << units
            << " work units, " << s.array_size << " array tasks\n";
  if (args.dry_run) {
    std::cout << script.string() << "\n";
    return 0;
  }
  const std::string command = "sbatch --parsable " + shell_quote(script.string()) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  KVBENCH_CHECK(pipe != nullptr, "cannot run sbatch");
  std::string out;
  std::array<char, 512> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  const int status = ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  KVBENCH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sbatch ", script.string(), " failed: ",
                out.empty() ? "(no output; is Slurm installed? --dry-run only writes the script)" : out);
  const std::string job_id = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  std::cout << script.string() << "\n" << job_id.substr(0, job_id.find(';')) << "\n";
  return 0;
}

}  // namespace kvbench
