// SPDX-License-Identifier: Apache-2.0
// fuzz.ratio / Levenshtein.ratio (see fuzz_ratio.h).
#include "metrics/fuzz_ratio.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kvbench {
namespace {

size_t lcs_length(const std::u32string& a, const std::u32string& b) {
  const std::u32string& shorter = a.size() <= b.size() ? a : b;
  const std::u32string& longer = a.size() <= b.size() ? b : a;
  std::vector<size_t> prev(shorter.size() + 1, 0), cur(shorter.size() + 1, 0);
  for (char32_t c : longer) {
    for (size_t j = 1; j <= shorter.size(); ++j)
      cur[j] = c == shorter[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  return prev[shorter.size()];
}

}  // namespace

double levenshtein_ratio(const std::u32string& a, const std::u32string& b) {
  size_t maximum = a.size() + b.size();
  if (maximum == 0) return 1.0;
  size_t dist = maximum - 2 * lcs_length(a, b);
  double norm_dist = static_cast<double>(dist) / static_cast<double>(maximum);
  return 1.0 - norm_dist;
}

int fuzz_ratio(const std::u32string& a, const std::u32string& b) {
  if (a == b) return 100;                   // utils.check_for_equivalence
  if (a.empty() || b.empty()) return 0;     // utils.check_empty_string
  // utils.intr: int(round(x)); Python rounds half to even, like nearbyint in the default mode.
  return static_cast<int>(std::nearbyint(100 * levenshtein_ratio(a, b)));
}

}  // namespace kvbench
