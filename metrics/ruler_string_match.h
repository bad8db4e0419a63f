// SPDX-License-Identifier: Apache-2.0
// RULER's string-match scoring (NVIDIA/RULER scripts/eval): the prediction postprocessing, the
// per-sample hit fraction, and the task aggregation. Registered as ruler.string_match_all/_part.
#pragma once

#include <string>
#include <vector>

namespace kvbench {

// evaluate.py postprocess_pred: strip(), every [\x00-\x1f] character -> "\n", strip().
std::string ruler_postprocess(const std::string& prediction);
// all: sum(hit) / len(references) (string_match_all); else max(hit) (string_match_part), where
// hit = 1.0 if r.lower() in prediction.lower().
double ruler_hit_fraction(const std::string& prediction, const std::vector<std::string>& references,
                          bool all);
// round(sum(per-sample x100 scores) / n, 2); equal to RULER's round(sum(f) / n * 100, 2) except
// for the floating-point order of the x100 (identical for the usual fractions k / len(refs)).
double ruler_task_score(const std::vector<double>& sample_scores);

}  // namespace kvbench
