// SPDX-License-Identifier: Apache-2.0
// PythonRandom: CPython's random.Random (MT19937) reimplemented bit for bit, so tasks that follow a
// Python recipe (lm-eval's few-shot sampler, seeded with Random(1234)) draw the same items.
// Covers seeding from a non-negative integer (init_by_array over its 32-bit words), getrandbits,
// _randbelow (rejection sampling on getrandbits) and sample() (CPython 3.11 algorithm choice).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kvbench {

class PythonRandom {
 public:
  // random.Random(seed) for an int seed >= 0.
  explicit PythonRandom(uint64_t seed);

  // random.getrandbits(k) for 0 <= k <= 64.
  uint64_t getrandbits(int k);
  // random._randbelow(n) for n >= 1.
  uint64_t randbelow(uint64_t n);
  // Indices that random.sample(range(n), k) returns, in order (same as sampling any sequence of
  // length n). Requires 0 <= k <= n.
  std::vector<size_t> sample_indices(size_t n, size_t k);
  // random.random(): 53-bit float in [0, 1).
  double random();

  uint32_t next_uint32();  // genrand_uint32

 private:
  void init_genrand(uint32_t s);
  void init_by_array(const std::vector<uint32_t>& key);

  std::array<uint32_t, 624> state_{};
  int index_ = 625;
};

}  // namespace kvbench
