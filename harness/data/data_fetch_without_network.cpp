// SPDX-License-Identifier: Apache-2.0
// fetch_data_files in a build configured with -DKVBENCH_DATA_FETCH=OFF (no libcurl / libzip; the
// GPU-machine build of scripts/gpu/setup_on_device.sh, a machine without network): a clear error
// instead of a download that could never happen. `kvbench data check` still works there.
#include "harness/data/data_fetch.h"

#include "harness/error.h"

namespace kvbench {

std::vector<FetchOutcome> fetch_data_files(const std::vector<DataFile>&, const DownloadOptions&) {
  KVBENCH_FAIL(ErrorKind::kUsage, "kvbench data fetch: this kvbench was built without downloads "
               "(-DKVBENCH_DATA_FETCH=OFF, no libcurl/libzip); fetch on a machine with network and a "
               "build from scripts/setup.sh, then copy the data root");
}

}  // namespace kvbench
