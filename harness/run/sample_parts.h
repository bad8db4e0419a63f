// SPDX-License-Identifier: Apache-2.0
// The sample files of one run directory. A plain run appends to samples.jsonl; shard i of N appends
// to samples.shard-<i>-of-<N>.jsonl (each file has exactly one writer, guarded by its own lock
// file). Everything that reads a run (resume, metrics, rescore, report, compare, status) reads the
// union of the parts: a sample id recorded in two parts is an input error naming both files.
#pragma once

#include "harness/run/shard.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kvbench {

// "samples.jsonl" for an unsharded writer, "samples.<tag>.jsonl" for a shard.
std::string samples_part_name(const ShardSpec& shard);
// ".lock" (the plain run's lock, as before sharding) or ".lock.<tag>".
std::string part_lock_name(const ShardSpec& shard);
// The lock file name of a part file (samples.jsonl -> .lock, samples.<tag>.jsonl -> .lock.<tag>).
std::string part_lock_name_of(const std::filesystem::path& part);
// "run.<tag>.json": one shard's status (the cell's own status stays in run.json).
std::string shard_status_name(const ShardSpec& shard);
// The cell lock, held briefly by every writer to read-modify-write the shared files (config.json,
// env.json, metrics.json, run.json).
constexpr const char* kCellLockName = ".lock.cell";

// The sample part files in `dir`: samples.jsonl first, then the shard parts by name.
std::vector<std::filesystem::path> list_sample_parts(const std::filesystem::path& dir);

struct SamplePart {
  std::filesystem::path path;
  std::vector<nlohmann::json> rows;  // whole rows in file order
  size_t complete_bytes = 0;         // bytes up to and including the last newline
  size_t torn_bytes = 0;             // bytes after it: a row whose append was cut by a kill
};

// Reads one part. A torn last line is reported (torn_bytes), not returned; any other unparsable
// line, a row without a string "id" or an id recorded twice in the file is a kInput error naming
// file:line.
SamplePart read_sample_part(const std::filesystem::path& path);

// The union of several parts' rows, in part order then file order. An id in two parts is a kInput
// error naming both files.
struct SampleUnion {
  std::vector<nlohmann::json> rows;
  std::map<std::string, std::filesystem::path> file_of;  // id -> the part that records it
};
void add_part_rows(SampleUnion& into, SamplePart part);
SampleUnion read_sample_union(const std::filesystem::path& dir);

}  // namespace kvbench
