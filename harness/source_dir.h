// SPDX-License-Identifier: Apache-2.0
// The kvbench source tree the binary was built from (for shipped data such as datasets/prompts and
// metrics/data, the default ../shared/data, and env.json's git SHA). Only source_dir.cpp has the
// path compiled in, so no other object depends on where the tree was checked out (ccache hits
// across clones).
#pragma once

#include <string>

namespace kvbench {

const std::string& source_dir();

}  // namespace kvbench
