// SPDX-License-Identifier: Apache-2.0
// The CSV kvpress-style notebooks plot from: one row per (model, method, budget, task, score) with
// the compression ratio (1 - kept fraction of the prompt's KV, 0 for the full cache, empty when the
// run recorded no budget), the absolute budget, the score's mean, stderr and n, and the cell status.
#pragma once

#include "reports/result_grid.h"

#include <string>

namespace kvbench {

std::string kvpress_csv(const ResultGrid& grid);

}  // namespace kvbench
