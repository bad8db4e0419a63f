// SPDX-License-Identifier: Apache-2.0
// Paired bootstrap confidence interval of a mean difference, reproducible everywhere: the draws
// come from std::mt19937 (fully specified by the C++ standard, identical to numpy's legacy
// RandomState(seed) raw 32-bit stream) and an index is a raw draw u accepted only when
// u < 2^32 - (2^32 mod n), mapped to u mod n (unbiased rejection; libstdc++'s
// uniform_int_distribution is implementation-defined and is not used). Resample b takes n indices in
// order; its statistic is the plain left-to-right mean; the interval is the alpha/2 and 1 - alpha/2
// linear-interpolation percentiles (numpy's default) of the resample means.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kvbench {

struct BootstrapInterval {
  double mean = 0;  // mean of the observed differences
  double low = 0, high = 0;
};

BootstrapInterval paired_bootstrap(const std::vector<double>& differences, size_t resamples, uint32_t seed,
                                   double alpha);

}  // namespace kvbench
