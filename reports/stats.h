// SPDX-License-Identifier: Apache-2.0
// The summary statistics every report table uses, defined once so tables, plots and compare agree
// with harness/run/aggregate.cpp: mean, standard error (sample sd / sqrt(n), 0 for n < 2) and linearly
// interpolated percentiles (numpy's default "linear" method).
#pragma once

#include <cstddef>
#include <vector>

namespace kvbench {

struct MeanStderr {
  double mean = 0;
  double stderr_ = 0;
  size_t n = 0;
};

MeanStderr mean_stderr(const std::vector<double>& xs);
// q in [0, 1]; xs need not be sorted; 0 for an empty list.
double percentile(std::vector<double> xs, double q);
double median(const std::vector<double>& xs);

}  // namespace kvbench
