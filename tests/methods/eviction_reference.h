// SPDX-License-Identifier: Apache-2.0
// Test helper for the eviction methods (snapkv, pyramidkv, h2o, tova): fp64 dense references of
// their scoring rules written as plain loops, and a way to read the exact set of rows a method kept
// from its attention output. With one-hot values (row at position j holds e_j, head_dim >= the
// sequence length) a query's output is its probability vector over positions: entry j is > 0 exactly
// when position j is in the attended cache (softmax probabilities of bounded logits are > 0; an
// absent row contributes an exact 0). So the kept sets are compared exactly, not through a tolerance.
#pragma once

#include "harness/kv/method.h"
#include "tests/methods/attention_calls.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <set>
#include <vector>

namespace kvbench::test {

using PositionSet = std::set<int64_t>;

// values [1, H, n, d] with row j = e_j for j < d (rows past d stay zero: only tests with d >= n
// read kept sets from outputs).
inline at::Tensor onehot_values(int64_t heads, int64_t n, int64_t d) {
  at::Tensor v = at::zeros({1, heads, n, d});
  for (int64_t j = 0; j < std::min(n, d); ++j) v.select(2, j).select(2, j).fill_(1.0);
  return v;
}

// A layer's whole sequence with random queries/keys (no RoPE: positions only label the rows) and
// one-hot values.
inline LayerSequence random_onehot_sequence(int64_t hq, int64_t hkv, int64_t n, int64_t d, uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor q = at::randn({1, hq, n, d}), k = at::randn({1, hkv, n, d});
  return LayerSequence{q, k, k, onehot_values(hkv, n, d), at::arange(n, at::kLong).unsqueeze(0),
                       1.0 / std::sqrt(static_cast<double>(d))};
}

// Positions present in the attention output of query head h at new token `row` (out [1, Hq, T, d]).
inline PositionSet attended_positions(const at::Tensor& out, int64_t h, int64_t row = -1) {
  at::Tensor probs = out.select(0, 0).select(0, h);
  probs = probs.select(0, row < 0 ? probs.size(0) + row : row).to(at::kDouble).contiguous();
  PositionSet set;
  const double* p = probs.data_ptr<double>();
  for (int64_t j = 0; j < probs.numel(); ++j)
    if (p[j] > 0) set.insert(j);
  return set;
}

// fp64 softmax probabilities of query q [d] over keys rows `positions` of k [n, d] (2-D tensors).
inline std::vector<double> dense_probabilities(const at::Tensor& q, const at::Tensor& k,
                                               const std::vector<int64_t>& positions, double scale) {
  at::Tensor qd = q.to(at::kDouble), kd = k.to(at::kDouble);
  std::vector<double> logits(positions.size());
  for (size_t i = 0; i < positions.size(); ++i)
    logits[i] = (qd * kd[positions[i]]).sum().item<double>() * scale;
  const double top = *std::max_element(logits.begin(), logits.end());
  double total = 0;
  for (double& x : logits) total += (x = std::exp(x - top));
  for (double& x : logits) x /= total;
  return logits;
}

// The k highest scores' indices, increasing; ties to the lower index. Also checks that no score
// lies within `margin` (relative to the largest score) of the boundary value (the k-th largest)
// without being exactly equal to it: fp32 code and this fp64 reference may order two scores closer
// than their rounding error differently, so a test input must keep its boundary clear of that (a
// failure here means: pick another seed). Exact ties are fine: max-pooling copies one raw score to
// its neighbours, bit for bit in fp32 as in fp64, and both sides break them toward the lower index.
inline std::vector<int64_t> reference_top(const std::vector<double>& scores, int64_t k, double margin = 1e-4) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  k = std::max<int64_t>(0, std::min<int64_t>(k, static_cast<int64_t>(scores.size())));
  if (k > 0 && k < static_cast<int64_t>(scores.size())) {
    const double top = std::max(1e-300, scores[order[0]]);
    const double boundary = scores[order[k - 1]];
    double nearest = std::numeric_limits<double>::infinity();
    for (double x : scores)
      if (x != boundary) nearest = std::min(nearest, std::abs(x - boundary));
    EXPECT_GT(nearest, margin * top) << "test input has a near tie at the selection boundary; choose another seed";
  }
  std::vector<int64_t> kept(order.begin(), order.begin() + k);
  std::sort(kept.begin(), kept.end());
  return kept;
}

}  // namespace kvbench::test
