// SPDX-License-Identifier: Apache-2.0
// Resumable HTTP(S) downloads (libcurl) into a `.part` file: an existing `.part` is continued with a
// Range request (a server that answers 200 instead of 206 restarts it from zero), a dropped
// connection is retried from where it stopped, and the caller verifies the finished `.part` and
// renames it into place. Progress goes to stderr.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace kvbench {

struct DownloadOptions {
  int retries = 3;                // further attempts after a transfer error (not after HTTP >= 400)
  double retry_delay_s = 1.0;     // wait before retry k: k * retry_delay_s
  bool progress = true;
  std::string label;              // shown in progress lines (default: the part file's name)
};

struct DownloadResult {
  int64_t resumed_from = 0;       // bytes already in the .part file before this call
  int64_t downloaded = 0;         // bytes received by this call
  int64_t size = 0;               // size of the finished .part file
  int attempts = 0;               // HTTP requests made
};

// Downloads `url` into `part` (created or continued). `expected_size` >= 0: a `.part` of exactly
// that size is taken as finished without a request, a longer one is restarted. Errors are kRun
// errors naming the URL: HTTP status (e.g. 404), connection failures after the last retry.
DownloadResult download_to_part(const std::string& url, const std::filesystem::path& part,
                                int64_t expected_size, const DownloadOptions& options);

}  // namespace kvbench
