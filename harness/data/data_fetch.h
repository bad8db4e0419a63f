// SPDX-License-Identifier: Apache-2.0
// `kvbench data fetch`: bring official data files into the data root, verified. Per file:
//   - already there and ok/equivalent (harness/data/data_check.h): nothing to do;
//   - kind "files": download its URL into dest.part (resumable), verify size + sha256 against the
//     checksum table, rename to dest;
//   - kind "zip": download the group's archive once into data_root/downloads/<group>/ (resumable,
//     kept for the group's other files), extract the member into dest.part, verify, rename.
// A verified file appears under its final name only through an atomic rename. A file that fails
// verification is kept aside as dest.mismatch (and a zip archive it came from as .mismatch, so the
// next fetch downloads it again), and the file is reported as failed.
#pragma once

#include "harness/data/data_sources.h"
#include "harness/data/http_download.h"

#include <string>
#include <vector>

namespace kvbench {

struct FetchOutcome {
  DataFile file;
  std::string status;   // "present" (already verified), "fetched", "failed"
  std::string detail;   // one line
};

// Fetches each file; one file's failure does not stop the others.
std::vector<FetchOutcome> fetch_data_files(const std::vector<DataFile>& files,
                                           const DownloadOptions& options);

}  // namespace kvbench
