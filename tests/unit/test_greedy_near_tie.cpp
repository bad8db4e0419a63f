// SPDX-License-Identifier: Apache-2.0
// judge_greedy (tests/model/greedy_near_tie.h), the rule of test_model_gpu's 8B bf16 parity, on
// made-up references: it accepts equal tokens and a divergence at a near-tie with logits within the
// bound, and refuses a logit outside the bound and a divergence to a token the reference ranked low.
#include "tests/model/greedy_near_tie.h"

#include <gtest/gtest.h>

namespace kvbench {
namespace {

using nlohmann::json;

// Two steps over a 16-token vocabulary: the reference's logits are 10 - id at step 0 and
// 10 - |id - 3| * 0.5 at step 1, whose best tokens 3 (10) and 2/4 (9.5) are the near-tie;
// L = 1, so the bound is 2 * 3 * 2^-9 * 10 ~ 0.117.
json reference() {
  json ref = {{"greedy_bf16", {0, 3}}, {"num_layers", 1}, {"max_abs_logit", {10.0, 10.0}}};
  ref["top_ids"] = {{0, 1, 2, 3, 4, 5, 6, 7}, {3, 2, 4, 1, 5, 0, 6, 7}};
  ref["top_logits"] = {{10, 9, 8, 7, 6, 5, 4, 3}, {10, 9.5, 9.5, 9, 9, 8.5, 8.5, 8}};
  return ref;
}

std::vector<at::Tensor> logits_like(const json& ref, double shift_step1_token3) {
  std::vector<at::Tensor> out;
  for (size_t step = 0; step < 2; ++step) {
    at::Tensor z = at::full({1, 16}, -100.0, at::kFloat);
    for (size_t k = 0; k < 8; ++k)
      z[0][ref["top_ids"][step][k].get<int64_t>()] = ref["top_logits"][step][k].get<double>();
    out.push_back(z);
  }
  out[1][0][3] += shift_step1_token3;
  return out;
}

TEST(GreedyNearTie, EqualTokensPass) {
  const json ref = reference();
  const test::GreedyVerdict v = test::judge_greedy(ref, {0, 3}, logits_like(ref, 0.0));
  EXPECT_TRUE(v.ok) << v.why;
  EXPECT_EQ(v.first_divergence, 2u);
}

TEST(GreedyNearTie, DivergenceAtANearTieWithinTheBoundPasses) {
  json ref = reference();
  ref["top_logits"][1][1] = 9.95;  // token 2 is 0.05 below token 3: a near-tie
  std::vector<at::Tensor> ours = logits_like(ref, -0.06);  // ours: token 3 at 9.94 < token 2 at 9.95
  const test::GreedyVerdict v = test::judge_greedy(ref, {0, 2}, ours);
  EXPECT_TRUE(v.ok) << v.why;
  EXPECT_EQ(v.first_divergence, 1u);
}

TEST(GreedyNearTie, ALogitOutsideTheBoundFails) {
  const json ref = reference();
  const test::GreedyVerdict v = test::judge_greedy(ref, {0, 2}, logits_like(ref, -0.6));
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.why.find("differs by"), std::string::npos) << v.why;
}

TEST(GreedyNearTie, ATokenTheReferenceRankedLowFails) {
  const json ref = reference();
  const test::GreedyVerdict v = test::judge_greedy(ref, {0, 12}, logits_like(ref, 0.0));
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.why.find("outside"), std::string::npos) << v.why;
}

}  // namespace
}  // namespace kvbench
