// SPDX-License-Identifier: Apache-2.0
// The run directory of one run and its durable files:
//   config.json   resolved config + run hash + dataset sha256 (atomic write)
//   env.json      git SHA/dirty, versions, compiler, hardware (atomic write)
//   samples.jsonl one JSON object per finished sample, appended and fsync'ed as it finishes
//   metrics.json  aggregate over the selected samples (atomic write at the end)
//   run.json      status: running | complete | partial | failed, with counts (atomic write)
// Invariants: a sample id appears at most once in samples.jsonl; a torn last line (a kill during
// the append) is cut off on open and that sample is redone; one process at a time holds the
// directory (flock on .lock).
// Sharded runs (harness/run/shard.h): shard i of N writes samples.shard-<i>-of-<N>.jsonl under its
// own lock (.lock.shard-<i>-of-<N>) and reads every other part read-only (sample_parts.h), so the
// store's rows are the union of all parts; an id in two parts is an input error naming both files.
#pragma once

#include "harness/run/shard.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kvbench {

// An exclusive flock on the cell lock (sample_parts.h kCellLockName), held while a writer
// reads and rewrites the files all shards of a cell share; blocks until free (held briefly).
class CellLock {
 public:
  explicit CellLock(const std::filesystem::path& dir);
  ~CellLock() { release(); }
  CellLock(CellLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  CellLock(const CellLock&) = delete;
  CellLock& operator=(const CellLock&) = delete;
  CellLock& operator=(CellLock&& other) noexcept {
    if (this != &other) {
      release();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  void release();

 private:
  int fd_ = -1;
};

class RunStore {
 public:
  // Creates the directory if needed, takes the lock of this writer's part (kBusy error if another
  // process holds it), reads its part and truncates a torn last line, then reads the other parts.
  explicit RunStore(const std::filesystem::path& dir, const ShardSpec& shard = {});
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  bool has_sample(const std::string& id) const { return rows_.count(id) != 0; }
  // Recorded rows by sample id.
  const std::map<std::string, nlohmann::json>& rows() const { return rows_; }
  // Bytes of a torn last line that were cut off when the store was opened (0 if none).
  size_t torn_bytes_dropped() const { return torn_bytes_dropped_; }

  // Appends one row (must have a string "id" not yet recorded) and fsyncs before returning.
  void append_sample(const nlohmann::json& row);
  // Rewrites samples.jsonl without the rows that have a non-null "error" (atomically), so those
  // samples run again. Returns how many were dropped. Other parts whose writer is not running
  // (their lock is free) lose their error rows whose id `mine` accepts (all when null) too.
  size_t drop_error_rows(const std::function<bool(const std::string&)>& mine = nullptr);
  // Takes the lock of every other part too (kBusy naming it when a writer holds one), held until
  // the store is destroyed: nothing can append to the run while, e.g., rescore rewrites it.
  void lock_all_parts();
  // Reads the other parts again (rows their writers appended since); this part's rows stay.
  void reload_other_parts();
  // The file this store appends to.
  const std::filesystem::path& part_path() const { return samples_path_; }
  const ShardSpec& shard() const { return shard_; }
  CellLock lock_cell() const { return CellLock(dir_); }
  // Writes dir/name atomically (temporary file, fsync, rename, fsync of the directory).
  void write_json(const std::string& name, const nlohmann::json& value) const;
  // run.json (status, counts); the only writer of run.json besides record_run_failure.
  void write_run_status(const nlohmann::json& status) const { write_json(kRunStatusFile, status); }
  static constexpr const char* kRunStatusFile = "run.json";

 private:
  void load_samples();
  void load_other_parts();

  std::filesystem::path dir_;
  ShardSpec shard_;
  std::map<std::string, std::filesystem::path> other_part_of_;  // id -> part, rows of other parts
  std::filesystem::path samples_path_;
  std::map<std::string, nlohmann::json> rows_;
  size_t torn_bytes_dropped_ = 0;
  int lock_fd_ = -1;
  std::vector<int> other_lock_fds_;
};

// Writes `text` to `path` atomically (same-directory temporary file, fsync, rename).
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

// Marks a run directory failed (run.json {"status": "failed", "error": ...}) after an error that
// ended the run outside the store's lifetime (engine construction, task loading); does nothing when
// the directory does not exist (the run never started).
void record_run_failure(const std::filesystem::path& dir, const std::string& error);

}  // namespace kvbench
