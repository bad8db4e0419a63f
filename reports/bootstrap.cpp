// SPDX-License-Identifier: Apache-2.0
#include "reports/bootstrap.h"

#include "reports/stats.h"

#include <random>

namespace kvbench {

BootstrapInterval paired_bootstrap(const std::vector<double>& d, size_t resamples, uint32_t seed, double alpha) {
  BootstrapInterval out;
  if (d.empty()) return out;
  const uint64_t n = d.size();
  double sum = 0;
  for (double x : d) sum += x;
  out.mean = sum / static_cast<double>(n);
  std::mt19937 engine(seed);
  // Largest multiple of n not above 2^32: draws at or past it are rejected (no modulo bias).
  const uint64_t limit = (uint64_t{1} << 32) - ((uint64_t{1} << 32) % n);
  std::vector<double> means(resamples);
  for (size_t b = 0; b < resamples; ++b) {
    double s = 0;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t u;
      do u = engine(); while (u >= limit);
      s += d[u % n];
    }
    means[b] = s / static_cast<double>(n);
  }
  out.low = percentile(means, alpha / 2);
  out.high = percentile(means, 1 - alpha / 2);
  return out;
}

}  // namespace kvbench
