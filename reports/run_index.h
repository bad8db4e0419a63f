// SPDX-License-Identifier: Apache-2.0
// Run directories as reports/ sees them: only the files a run writes (config.json, env.json,
// samples.jsonl, metrics.json, run.json) are read, never the model or the methods. find_runs()
// collects every run directory under the given paths (a sweep's output, several sweeps, shards);
// load_run() reads one and derives what every table needs: its cell identity, its status and its
// prompt-side KV budget.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace kvbench {

struct RunRecord {
  std::filesystem::path dir;
  nlohmann::json config;    // config.json (resolved config + "run": hash, label, dataset_sha256)
  nlohmann::json env;       // env.json ({} when absent)
  nlohmann::json metrics;   // metrics.json ({} when absent: the run never finished)
  nlohmann::json run_json;  // run.json ({} when absent)
  // The rows of samples.jsonl and of every shard part (samples.shard-<i>-of-<N>.jsonl), part by
  // part in file order (a torn last line, which a kill leaves, is ignored; an id in two parts is an
  // input error naming both files).
  std::vector<nlohmann::json> samples;

  std::string task, protocol, model, method;
  std::string method_params;  // canonical JSON dump of method.params: the budget configuration
  std::string dataset_sha256, kvbench_version, label, hash;
  std::string device;         // where the KV cache lived: env.json engine.device, else model.device
  // complete | partial (errors or missing samples) | failed | running | incomplete (no metrics.json)
  std::string status;
  size_t selected = 0, scored = 0, errors = 0, missing = 0;
  // KV budget per layer: metrics.json kv.budget_total mean (NaN if the run recorded no budgets),
  // and that as a percentage of the mean prompt length (input tokens of the scored samples).
  double budget_tokens = std::nan("");
  double budget_percent = std::nan("");
  double mean_input_tokens = std::nan("");

  // Scored rows only (no error).
  std::vector<const nlohmann::json*> scored_rows() const;
  bool is_clean() const { return status == "complete"; }
};

// object[key] when it is an object, else an empty object; a reference, so range-for over its
// items() is safe (json::value() returns a temporary whose items() would dangle).
const nlohmann::json& section(const nlohmann::json& object, const char* key);

// Every directory at or under each path that holds a config.json with a "run" section, sorted by
// path. A path that does not exist is a kInput error naming it.
std::vector<std::filesystem::path> find_run_dirs(const std::vector<std::string>& paths);

// Reads one run directory. Unparsable JSON is a kInput error naming the file (and line for
// samples.jsonl); a missing config.json likewise.
RunRecord load_run(const std::filesystem::path& dir);

std::vector<RunRecord> load_runs(const std::vector<std::string>& paths);

}  // namespace kvbench
