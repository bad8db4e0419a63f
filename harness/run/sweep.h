// SPDX-License-Identifier: Apache-2.0
// Sweep expansion: a config's optional `sweep:` section turns one document into many runs.
//   sweep:
//     grid: {method.name: [full, quest], task.params.context_length: [4096, 8192]}  # cartesian
//     zip:  {method.params.token_budget: [256, 1024], generation.max_new_tokens: [32, 64]}  # lockstep
// Every grid combination is crossed with every zip position; axes expand in key-path order, the
// last axis varying fastest; grid and zip axes may name any key path. Without `sweep:` the document
// is a single run.
#pragma once

#include "harness/config_document.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace kvbench {

struct SweepCell {
  ConfigDocument document;  // the config with this cell's values set (and `sweep` removed)
  nlohmann::json axes = nlohmann::json::object();  // key path -> value of this cell
};

// Most runs one config may expand to (a kConfig error names the grid axis that passes it).
constexpr size_t kMaxSweepCells = 100000;

std::vector<SweepCell> expand_sweep(const ConfigDocument& document);

}  // namespace kvbench
