// SPDX-License-Identifier: Apache-2.0
#include "reports/stats.h"

#include <algorithm>
#include <cmath>

namespace kvbench {

MeanStderr mean_stderr(const std::vector<double>& xs) {
  MeanStderr out;
  out.n = xs.size();
  if (xs.empty()) return out;
  double n = static_cast<double>(xs.size());
  double sum = 0;
  for (double x : xs) sum += x;
  out.mean = sum / n;
  double var = 0;
  for (double x : xs) var += (x - out.mean) * (x - out.mean);
  out.stderr_ = xs.size() > 1 ? std::sqrt(var / (n - 1)) / std::sqrt(n) : 0.0;
  return out;
}

double percentile(std::vector<double> xs, double q) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  double pos = q * static_cast<double>(xs.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, xs.size() - 1);
  return xs[lo] + (pos - static_cast<double>(lo)) * (xs[hi] - xs[lo]);
}

double median(const std::vector<double>& xs) { return percentile(xs, 0.5); }

}  // namespace kvbench
