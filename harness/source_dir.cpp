// SPDX-License-Identifier: Apache-2.0
#include "harness/source_dir.h"

namespace kvbench {

const std::string& source_dir() {
  static const std::string dir = KVBENCH_SOURCE_DIR_PATH;  // set for this file only (CMakeLists.txt)
  return dir;
}

}  // namespace kvbench
