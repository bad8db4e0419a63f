// SPDX-License-Identifier: Apache-2.0
// main() of every ctest test labelled gpu (tests/CMakeLists.txt kvbench_add_test adds this file to
// them): without a CUDA device it exits 77, which ctest's SKIP_RETURN_CODE lists as Skipped rather
// than Passed, so a CPU machine never counts GPU checks as run.
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cstdio>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!at::hasCUDA()) {
    std::printf("%s: no CUDA device: skipped (exit 77)\n", argc > 0 ? argv[0] : "gpu test");
    return 77;
  }
  return RUN_ALL_TESTS();
}
