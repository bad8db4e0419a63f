// SPDX-License-Identifier: Apache-2.0
// The table printed at the end of `kvbench run`, built with the report's table code: one row per
// run (task, protocol, model, method, budget, samples, every score as mean ± stderr, tokens attended
// per KV head and decode step, persistent KV + metadata MiB on the device the run used, status) in
// GitHub markdown, readable in a terminal too.
#pragma once

#include "reports/run_index.h"
#include "reports/table.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kvbench {

Table results_table(const std::vector<RunRecord>& runs);
std::string format_results_table(const std::vector<RunRecord>& runs);
// `runs`: metrics.json objects (with their "run" section) plus "status" and optionally "device"
// keys, for callers without run directories.
std::string format_results_table(const std::vector<nlohmann::json>& runs);

}  // namespace kvbench
