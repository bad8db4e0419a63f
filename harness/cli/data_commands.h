// SPDX-License-Identifier: Apache-2.0
// The `kvbench data check` and `kvbench data fetch` commands over harness/data/data_sources.h: what
// they print (one line per file, then a summary; --json for machines) and their exit codes.
#pragma once

#include "harness/data/data_sources.h"

#include <string>
#include <vector>

namespace kvbench {

struct DataCommandArgs {
  DataSourceOptions sources;       // data_root empty: default_data_root()
  std::vector<std::string> names;  // groups or files; empty: all (check only)
  bool json = false;               // check: machine-readable output
  bool allow_missing = false;      // check: missing files do not fail
  int retries = 3;                 // fetch
  bool progress = true;            // fetch
};

// Exit code 0 when every selected file is ok or equivalent (missing ones too with allow_missing),
// 1 when any is missing or differs.
int run_data_check(DataCommandArgs args);

// Exit code 0 when every selected file is present or was fetched and verified, 1 otherwise. A data
// root or destination folder without write permission bits (../shared/data) is a kUsage error.
int run_data_fetch(DataCommandArgs args);

}  // namespace kvbench
