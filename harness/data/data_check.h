// SPDX-License-Identifier: Apache-2.0
// `kvbench data check`: is each official data file present under the data root, and is it the
// official content? A file is looked for at its destination (e.g. longbench/data/x.jsonl) and
// then as a gzip copy next to it (x.jsonl.gz, how ../shared/data ships LongBench). Verdicts:
//   ok          byte-identical to the official file (size and sha256 match);
//   equivalent  the same content in another encoding: gzip-compressed and/or LF line endings where
//               the official file has CRLF (re-adding '\r' before each bare '\n' gives the
//               official size and sha256); tasks read these copies unchanged;
//   differs     neither: expected and actual size/sha256 are reported;
//   missing     no file at either path.
#pragma once

#include "harness/data/data_sources.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace kvbench {

enum class DataStatus { kOk, kEquivalent, kDiffers, kMissing };
std::string data_status_name(DataStatus status);  // "ok", "equivalent", "differs", "missing"

// Size and sha256 of a file's content as stored (after gunzip when `gunzip`), and of the same
// content with every bare '\n' turned into "\r\n".
struct ContentDigest {
  int64_t size = 0;
  std::string sha256;
  int64_t crlf_size = 0;
  std::string crlf_sha256;
};
// Streams the file once; kInput error naming the file when it cannot be read or is corrupt gzip.
ContentDigest digest_content(const std::filesystem::path& path, bool gunzip);

struct DataCheck {
  DataStatus status = DataStatus::kMissing;
  std::filesystem::path found;   // the file examined (empty when missing)
  bool gzip = false;             // found is a gzip copy
  bool lf = false;               // equivalent after LF -> CRLF
  int64_t actual_size = -1;      // of the (decompressed) content; -1 when missing or unreadable
  std::string actual_sha256;
  std::string detail;            // one line: what was found, and for differs expected vs actual
};

DataCheck check_data_file(const DataFile& file);

}  // namespace kvbench
