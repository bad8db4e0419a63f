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
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kvbench {

class RunStore {
 public:
  // Creates the directory if needed, takes the lock (kRun error if another process holds it),
  // reads samples.jsonl and truncates a torn last line.
  explicit RunStore(const std::filesystem::path& dir);
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
  // samples run again. Returns how many were dropped.
  size_t drop_error_rows();
  // Writes dir/name atomically (temporary file, fsync, rename, fsync of the directory).
  void write_json(const std::string& name, const nlohmann::json& value) const;
  // run.json (status, counts); the only writer of run.json besides record_run_failure.
  void write_run_status(const nlohmann::json& status) const { write_json(kRunStatusFile, status); }
  static constexpr const char* kRunStatusFile = "run.json";

 private:
  void load_samples();

  std::filesystem::path dir_;
  std::filesystem::path samples_path_;
  std::map<std::string, nlohmann::json> rows_;
  size_t torn_bytes_dropped_ = 0;
  int lock_fd_ = -1;
};

// Writes `text` to `path` atomically (same-directory temporary file, fsync, rename).
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

// Marks a run directory failed (run.json {"status": "failed", "error": ...}) after an error that
// ended the run outside the store's lifetime (engine construction, task loading); does nothing when
// the directory does not exist (the run never started).
void record_run_failure(const std::filesystem::path& dir, const std::string& error);

}  // namespace kvbench
