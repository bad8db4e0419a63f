// SPDX-License-Identifier: Apache-2.0
// The table printed at the end of `kvbench run`: one row per run (task, protocol, model, method,
// budget, samples, every score mean, tokens attended per KV head and decode step, persistent GPU
// KV + metadata MiB, status) in GitHub markdown, readable in a terminal too.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kvbench {

// `runs`: metrics.json objects (with their "run" section) plus "status" and "dir" keys.
std::string format_results_table(const std::vector<nlohmann::json>& runs);

}  // namespace kvbench
