// SPDX-License-Identifier: Apache-2.0
// Synthetic run directories with known numbers for the reports/ tests: the files a run writes
// (config.json, env.json, samples.jsonl, metrics.json through the runner's aggregate_samples,
// run.json), filled from per-sample scores, timings and KV byte counts the test chooses, so every
// expected table cell can be computed independently in the test.
#pragma once

#include "harness/run/aggregate.h"
#include "harness/run/record_schema.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace kvbench::testing {

struct SyntheticSample {
  std::string id;
  double score = 0;            // score "acc"
  double ttft_ms = 10, tpot_ms = 2;
  double input_tokens = 1000;
  double peak_device_bytes = 1 << 20;
  bool error = false;
  std::string prompt_sha256;   // default: "sha-" + id
  nlohmann::json metadata = nlohmann::json::object();
};

struct SyntheticRun {
  std::string task = "task_a", protocol = "proto", model = "m", method = "full";
  nlohmann::json method_params = nlohmann::json::object();
  double budget_total = 0;     // kv.budget_total per sample (0: the full cache = input tokens)
  std::string dataset_sha256 = "d0", kvbench_version = "0.1.0", device = "cpu";
  std::string status = "complete";
  size_t extra_selected = 0;   // selected but never recorded (missing samples)
  std::vector<SyntheticSample> samples;
};

inline std::filesystem::path write_synthetic_run(const std::filesystem::path& root, const SyntheticRun& r) {
  using nlohmann::json;
  std::string budget = r.method_params.empty() ? "default" : std::to_string(std::hash<std::string>{}(r.method_params.dump()) % 100000);
  std::string label = r.task + "/" + r.protocol + "/" + r.model + "/" + r.method + "/" + budget;
  std::filesystem::path dir = root / (r.task + "__" + r.model + "__" + r.method + "__" + budget + "__" + r.dataset_sha256);
  std::filesystem::create_directories(dir);
  json config = {{"task", {{"name", r.task}, {"protocol", r.protocol}, {"params", json::object()}}},
                 {"model", {{"name", r.model}, {"device", r.device}}},
                 {"method", {{"name", r.method}, {"params", r.method_params}}},
                 {"run", {{"hash", "h" + budget}, {"label", label}, {"dataset_sha256", r.dataset_sha256}}}};
  std::ofstream(dir / "config.json") << config.dump(2);
  std::ofstream(dir / "env.json") << json({{"kvbench_version", r.kvbench_version},
                                           {"engine", {{"device", r.device}}},
                                           {"git_sha", "abc"}}).dump(2);
  std::map<std::string, json> rows;
  std::vector<std::string> selected;
  std::ofstream samples(dir / "samples.jsonl");
  for (const auto& s : r.samples) {
    json row = {{"id", s.id}, {"prompt_sha256", s.prompt_sha256.empty() ? "sha-" + s.id : s.prompt_sha256},
                {"references", {"ref"}}, {"metadata", s.metadata},
                {"schema_version", kRecordSchemaVersion}};
    if (s.error) {
      row["error"] = "boom";
      row["timing"] = {{"sample_ms", 1.0}};
    } else {
      row["error"] = nullptr;
      row["input_tokens"] = s.input_tokens;
      row["output_tokens"] = 4;
      row["prediction"] = "pred " + s.id;
      row["scores"] = {{"acc", s.score}};
      row["timing"] = {{"ttft_ms", s.ttft_ms}, {"tpot_ms", s.tpot_ms}};
      double total = r.budget_total > 0 ? r.budget_total : s.input_tokens;
      row["kv"] = {{"budget_total", total}, {"budget_generated", 3.0}, {"peak_device_bytes_total", s.peak_device_bytes},
                   {"kv_row_device_bytes", s.peak_device_bytes / 2}, {"metadata_device_bytes", 100.0},
                   {"host_bytes_total", 0.0}, {"host_to_device_bytes_per_step_mean", 0.0},
                   {"device_bytes_total", s.peak_device_bytes}};
    }
    samples << row.dump() << "\n";
    rows[s.id] = row;
    selected.push_back(s.id);
  }
  for (size_t i = 0; i < r.extra_selected; ++i) selected.push_back("never_run_" + std::to_string(i));
  json metrics = aggregate_samples(selected, rows);
  metrics["run"] = {{"task", r.task}, {"protocol", r.protocol}, {"model", r.model}, {"method", r.method},
                    {"label", label}, {"method_params", r.method_params}};
  std::ofstream(dir / "metrics.json") << metrics.dump(2);
  std::ofstream(dir / "run.json") << json({{"status", r.status}, {"selected_ids", selected}}).dump(2);
  return dir;
}

}  // namespace kvbench::testing
