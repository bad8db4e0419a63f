// SPDX-License-Identifier: Apache-2.0
// The fast word-key list of scripts/reference/ruler_niah_reference.py (used by test_ruler's parity
// runs) equals niah.py's own sorted(set(adjective-noun)) construction; about 40 s of Python.
#include "tests/datasets/task_test_support.h"

namespace kvbench {
namespace {

TEST(RulerWords, ReferenceWordListEqualsOfficialConstruction) {
  EXPECT_EQ(testing::run_python((testing::source_dir() / "scripts/reference/ruler_niah_reference.py").string() +
                                " --check-words " + (testing::data_dir() / "niah/ruler").string()),
            0);
}

}  // namespace
}  // namespace kvbench
