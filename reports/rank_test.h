// SPDX-License-Identifier: Apache-2.0
// Mann-Whitney U rank test, one-sided: is `candidate` stochastically greater than `baseline`
// (e.g. slower)? Ties get average ranks; the p-value is the normal approximation with tie
// correction and continuity correction (scipy.stats.mannwhitneyu(candidate, baseline,
// alternative="greater", method="asymptotic")).
#pragma once

#include <vector>

namespace kvbench {

struct RankTest {
  double u = 0;        // U statistic of the candidate sample
  double p_value = 1;  // one-sided; 1 when a sample is empty or every value ties
};

RankTest mann_whitney_greater(const std::vector<double>& candidate, const std::vector<double>& baseline);

}  // namespace kvbench
