// SPDX-License-Identifier: Apache-2.0
// lm-evaluation-harness results JSON, one file per grid row (model x method x budget), in the shape
// lm-eval 0.4 writes (lm_eval/result_schema.py EvalResults): results{task: {alias, sample_len,
// "<metric>,<filter>", "<metric>_stderr,<filter>"}}, group_subtasks, configs, versions, n-shot,
// higher_is_better, n-samples{task: {original, effective}}, config, git_hash, date, model_name.
// kvbench score names already of the form "metric,filter" keep it; others get the filter "none".
#pragma once

#include "reports/result_grid.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kvbench {

struct LmEvalResults {
  std::string file_stem;  // results_<row>
  nlohmann::json document;
};

std::vector<LmEvalResults> lmeval_results(const ResultGrid& grid);

}  // namespace kvbench
