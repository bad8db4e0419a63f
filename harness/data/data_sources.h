// SPDX-License-Identifier: Apache-2.0
// The registry of official data files that `kvbench data check` verifies and `kvbench data fetch`
// downloads: datasets/data_sources.json (groups of files, where each is downloaded from and where
// it goes under the data root) joined with each group's checksum table (size + sha256 per file,
// e.g. longbench/OFFICIAL_CHECKSUMS.tsv under the data root).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kvbench {

// One row of a checksum table: TSV, '#' comment lines, a header naming at least the columns
// file, size_bytes and sha256 (other columns are ignored).
struct ChecksumEntry {
  std::string file;
  int64_t size = 0;
  std::string sha256;  // lowercase hex
};
std::vector<ChecksumEntry> read_checksum_table(const std::filesystem::path& path);

// One fetchable file with its expected size and sha256.
struct DataFile {
  std::string group;                // e.g. "longbench"
  std::string file;                 // e.g. "narrativeqa.jsonl"
  std::filesystem::path dest;       // where it belongs: data_root / dest_dir / file
  int64_t size = 0;
  std::string sha256;
  // Download: kind "zip" reads `member` out of the archive at `url` (shared by the group);
  // kind "files" downloads `url` itself.
  std::string kind;
  std::string url;
  std::string member;
  std::filesystem::path archive_cache;  // zip only: where the downloaded archive is kept
};

struct DataSourceOptions {
  std::filesystem::path data_root;
  std::filesystem::path sources;    // empty: datasets/data_sources.json of the source tree
  std::filesystem::path checksums;  // empty: each group's table under data_root
  std::string base_url;             // empty: each group's base_url (a '/' is appended if missing)
};

// The default data root: ${KVBENCH_DATA_DIR:-<source>/../shared/data}, as task.data_root.
std::filesystem::path default_data_root();

// The files that `names` select, in registry order, duplicates removed. A name is a group
// ("longbench"), a file ("narrativeqa.jsonl"), a file without its extension ("narrativeqa") or
// "group/file". No names: every file of every group. An unknown name is a kUsage error with a
// suggestion; a file missing from its group's checksum table is a kInput error naming the table.
std::vector<DataFile> select_data_files(const DataSourceOptions& options,
                                        const std::vector<std::string>& names);

}  // namespace kvbench
