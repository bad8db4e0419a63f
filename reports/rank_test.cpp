// SPDX-License-Identifier: Apache-2.0
#include "reports/rank_test.h"

#include <algorithm>
#include <cmath>

namespace kvbench {

RankTest mann_whitney_greater(const std::vector<double>& candidate, const std::vector<double>& baseline) {
  RankTest out;
  const double n1 = static_cast<double>(candidate.size()), n2 = static_cast<double>(baseline.size());
  if (candidate.empty() || baseline.empty()) return out;
  std::vector<std::pair<double, int>> all;  // (value, 1 = candidate)
  for (double x : candidate) all.push_back({x, 1});
  for (double x : baseline) all.push_back({x, 0});
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const double N = n1 + n2;
  double rank_sum = 0, tie_term = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double t = static_cast<double>(j - i);
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k)
      if (all[k].second) rank_sum += average_rank;
    tie_term += t * t * t - t;
    i = j;
  }
  out.u = rank_sum - n1 * (n1 + 1) / 2;
  const double mean = n1 * n2 / 2;
  const double variance = n1 * n2 / 12 * ((N + 1) - tie_term / (N * (N - 1)));
  if (variance <= 0) return out;
  const double z = (out.u - mean - 0.5) / std::sqrt(variance);
  out.p_value = 0.5 * std::erfc(z / std::sqrt(2.0));
  return out;
}

}  // namespace kvbench
