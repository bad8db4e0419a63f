// SPDX-License-Identifier: Apache-2.0
// Test helper: does kvbench's bf16 greedy run agree with transformers' up to rounding? Two bf16
// implementations of one network round differently (kernels, fusion, accumulation order), so their
// greedy tokens may part at a step whose two best logits are nearly tied; from there on the contexts
// differ and nothing is comparable. judge_greedy() accepts a run when
//   (1) at every step up to and including the first divergence (where both still see the same
//       context) kvbench's logits at the reference's 8 best tokens are within
//       bound = 2 (2L + 1) u max|z| of the reference's, u = 2^-9 the bf16 unit roundoff, L layers,
//       max|z| the step's largest reference |logit|: first-order error model, each implementation
//       rounds the residual stream's two updates per layer and the final logits once (<= u
//       relative each), without amplification through later layers; and
//   (2) at the divergence kvbench chose one of the reference's 8 best tokens (with (1) this bounds
//       the reference's own margin between the two choices by 2 bound).
// A defect (a wrong RoPE position, a misplaced row, a wrong weight) changes the logits by about
// their spread from the first step on and fails (1) or (2) at once.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace kvbench::test {

struct GreedyVerdict {
  bool ok = true;
  size_t first_divergence = 0;  // == steps when the tokens agree throughout
  std::string why;              // the failed condition, or how the run agreed
};

// `reference`: {"greedy_bf16", "num_layers", "top_ids", "top_logits", "max_abs_logit"} (as written
// by scripts/gpu/make_large_checkpoints.py); `tokens`/`logits`: kvbench's greedy tokens and each
// step's logits [1, vocab] (GenerateOptions::keep_logits).
inline GreedyVerdict judge_greedy(const nlohmann::json& reference, const std::vector<int64_t>& tokens,
                                  const std::vector<at::Tensor>& logits) {
  const auto expected = reference["greedy_bf16"].get<std::vector<int64_t>>();
  GreedyVerdict v;
  size_t& first = v.first_divergence;
  while (first < expected.size() && first < tokens.size() && tokens[first] == expected[first]) ++first;
  const double u = std::ldexp(1.0, -9);
  const double layers = reference["num_layers"].get<double>();
  const size_t last = std::min({first, expected.size() - 1, logits.size() - 1});
  std::ostringstream why;
  for (size_t step = 0; step <= last; ++step) {
    const auto ids = reference["top_ids"][step].get<std::vector<int64_t>>();
    const auto ref = reference["top_logits"][step].get<std::vector<double>>();
    const double bound = 2 * (2 * layers + 1) * u * reference["max_abs_logit"][step].get<double>();
    const at::Tensor ours = logits[step].reshape({-1}).to(at::kFloat).cpu();
    for (size_t k = 0; k < ids.size(); ++k) {
      const double diff = std::abs(ours[ids[k]].item<double>() - ref[k]);
      if (diff > bound) {
        why << "step " << step << ": logit of token " << ids[k] << " differs by " << diff << " > bound " << bound;
        return {false, first, why.str()};
      }
    }
  }
  if (first == expected.size()) return {true, first, "every token equal"};
  const auto ids = reference["top_ids"][first].get<std::vector<int64_t>>();
  if (first >= tokens.size() || std::find(ids.begin(), ids.end(), tokens[first]) == ids.end()) {
    why << "step " << first << ": kvbench chose a token outside the reference's 8 best";
    return {false, first, why.str()};
  }
  why << "parted at step " << first << " at a near-tie (logits within the bound up to there)";
  return {true, first, why.str()};
}

}  // namespace kvbench::test
