// SPDX-License-Identifier: Apache-2.0
// `kvbench status RUNS...`: per cell (run directory) of the given folders, complete / partial /
// failed / missing, from the union of its sample parts and its run.json, with one line per shard
// (run.shard-<i>-of-<N>.json and the rows of its part). Cells a sweep expands to but that have no
// directory yet come from the sweep manifests `kvbench run` writes (<output.dir>/sweep-*.json).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kvbench {

struct StatusArgs {
  std::vector<std::string> runs;
  bool json = false;
};

// The status of every cell under `runs`: [{"cell", "dir", "status", "selected", "recorded",
// "errors", "missing", "parts": [{"file", "rows"}], "shards": [run.shard-*.json ...]}]; cells of a
// manifest without a directory have status "missing" and no counts.
nlohmann::json collect_status(const std::vector<std::string>& runs);

CLI::App* add_status_command(CLI::App& app, StatusArgs& args);
// Exit code 0 when every cell is complete, 1 otherwise (2 on bad input).
int run_status_command(const StatusArgs& args);

}  // namespace kvbench
