// SPDX-License-Identifier: Apache-2.0
// Shared prefill on CUDA (gpu label; skipped without a GPU): the recording lives in pinned host
// memory and is copied back per call when replayed, and every declaring method must still decode
// bit for bit as from its own prefill (tests/methods/shared_prefill_check.h), in fp32 and bf16.
#include "tests/methods/shared_prefill_check.h"

#include <gtest/gtest.h>

namespace kvbench {
namespace {

TEST(SharedPrefillGpu, ReplayedPrefillDecodesBitForBitLikeTheMethodsOwnFp32) {
  test::expect_replay_matches_own(at::kFloat, at::Device(at::kCUDA, 0));
}

TEST(SharedPrefillGpu, ReplayedPrefillDecodesBitForBitLikeTheMethodsOwnBf16) {
  test::expect_replay_matches_own(at::kBFloat16, at::Device(at::kCUDA, 0));
}

}  // namespace
}  // namespace kvbench
