// SPDX-License-Identifier: Apache-2.0
#include "harness/run/run_store.h"

#include "harness/error.h"
#include "harness/json_text.h"
#include "harness/run/record_schema.h"
#include "harness/run/sample_parts.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kvbench {
namespace {

// Writes all of `data`; false with errno set when the file system refuses (ENOSPC, EROFS, EIO...).
bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

#define KVBENCH_CHECK_OUTPUT(cond, ...) KVBENCH_CHECK_KIND(ErrorKind::kOutput, cond, __VA_ARGS__)

void fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  KVBENCH_CHECK_OUTPUT(fd >= 0, tmp.string(), ": cannot create: ", std::strerror(errno));
  const bool written = write_all(fd, text) && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!written) ::unlink(tmp.c_str());  // the old `path` is untouched
  KVBENCH_CHECK_OUTPUT(written, path.string(), ": cannot write: ", std::strerror(saved_errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    ::unlink(tmp.c_str());
    KVBENCH_FAIL(ErrorKind::kOutput, path.string(), ": rename failed: ", std::strerror(rename_errno));
  }
  fsync_dir(path.parent_path());
}

CellLock::CellLock(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / kCellLockName;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  KVBENCH_CHECK_OUTPUT(fd_ >= 0, path.string(), ": cannot open lock file: ", std::strerror(errno));
  while (::flock(fd_, LOCK_EX) != 0) {
    const int saved_errno = errno;
    if (saved_errno == EINTR) continue;
    ::close(fd_);
    fd_ = -1;
    KVBENCH_FAIL(ErrorKind::kOutput, path.string(), ": cannot lock: ", std::strerror(saved_errno));
  }
}

void CellLock::release() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
  fd_ = -1;
}

RunStore::RunStore(const std::filesystem::path& dir, const ShardSpec& shard)
    : dir_(dir), shard_(shard), samples_path_(dir / samples_part_name(shard)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  KVBENCH_CHECK_OUTPUT(!ec, dir_.string(), ": cannot create run directory: ", ec.message());
  std::filesystem::path lock = dir_ / part_lock_name(shard_);
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  KVBENCH_CHECK_OUTPUT(lock_fd_ >= 0, lock.string(), ": cannot open lock file: ", std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    KVBENCH_FAIL(ErrorKind::kBusy, dir_.string(), ": another kvbench process is writing ",
                 shard_.sharded() ? "shard " + shard_.text() + " of " : "", "this run directory");
  }
  load_samples();
  load_other_parts();
}

RunStore::~RunStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  for (int fd : other_lock_fds_) ::close(fd);
}

void RunStore::lock_all_parts() {
  for (const auto& path : list_sample_parts(dir_)) {
    if (path == samples_path_) continue;
    const std::filesystem::path lock = dir_ / part_lock_name_of(path);
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    KVBENCH_CHECK_OUTPUT(fd >= 0, lock.string(), ": cannot open lock file: ", std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      KVBENCH_FAIL(ErrorKind::kBusy, dir_.string(), ": another kvbench process is writing ", path.filename().string());
    }
    other_lock_fds_.push_back(fd);
  }
  reload_other_parts();  // as they are now that no writer can append
}

void RunStore::load_samples() {
  std::ifstream in(samples_path_, std::ios::binary);
  if (!in.good()) return;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  size_t complete = text.rfind('\n');
  complete = complete == std::string::npos ? 0 : complete + 1;
  if (complete < text.size()) {
    // A kill during the append left a partial last line: cut it, that sample runs again.
    torn_bytes_dropped_ = text.size() - complete;
    KVBENCH_CHECK_OUTPUT(::truncate(samples_path_.c_str(), static_cast<off_t>(complete)) == 0,
                  samples_path_.string(), ": cannot truncate torn last line: ", std::strerror(errno));
    text.resize(complete);
  }
  size_t line_no = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json row = parse_json_text(line, ErrorKind::kInput, str_cat(samples_path_.string(), ":", line_no),
                                         "corrupt sample row (not a torn last line)");
    KVBENCH_CHECK_INPUT(row.is_object() && row.contains("id") && row["id"].is_string(),
                        samples_path_.string(), ":", line_no, ": field 'id': missing or not a string");
    std::string id = row["id"].get<std::string>();
    KVBENCH_CHECK_INPUT(rows_.count(id) == 0, samples_path_.string(), ":", line_no,
                        ": field 'id': sample '", id, "' is recorded twice");
    upgrade_sample_row(row);  // rows of an older schema aggregate under today's names
    rows_.emplace(id, std::move(row));
  }
}

void RunStore::load_other_parts() {
  for (const auto& path : list_sample_parts(dir_)) {
    if (path == samples_path_) continue;
    // Read-only: a torn last line there is its writer's to cut when it resumes.
    for (auto& row : read_sample_part(path).rows) {
      std::string id = row["id"].get<std::string>();
      auto other = other_part_of_.find(id);
      KVBENCH_CHECK_INPUT(rows_.count(id) == 0, path.string(), ": field 'id': sample '", id, "' is also recorded in ",
                          (other == other_part_of_.end() ? samples_path_ : other->second).string(),
                          " (two writers of different shard layouts ran it; remove one of the two rows and resume)");
      other_part_of_.emplace(id, path);
      upgrade_sample_row(row);
      rows_.emplace(id, std::move(row));
    }
  }
}

void RunStore::reload_other_parts() {
  for (const auto& [id, path] : other_part_of_) rows_.erase(id);
  other_part_of_.clear();
  load_other_parts();
}

void RunStore::append_sample(const nlohmann::json& row) {
  KVBENCH_ASSERT(row.contains("id") && row["id"].is_string(), "sample row without id");
  std::string id = row["id"].get<std::string>();
  KVBENCH_ASSERT(rows_.count(id) == 0, "sample ", id, " already recorded");
  // One write() of the whole line: a kill can leave only a prefix, which load_samples() cuts.
  std::string line = row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  int fd = ::open(samples_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  KVBENCH_CHECK_OUTPUT(fd >= 0, samples_path_.string(), ": cannot open: ", std::strerror(errno));
  const off_t before = ::lseek(fd, 0, SEEK_END);
  if (!write_all(fd, line) || ::fdatasync(fd) != 0) {
    // Disk full or I/O error: cut what reached the file, so it still ends with a complete row.
    const int saved_errno = errno;
    if (before >= 0 && ::ftruncate(fd, before) == 0) ::fdatasync(fd);
    ::close(fd);
    KVBENCH_FAIL(ErrorKind::kOutput, samples_path_.string(), ": cannot record sample ", id, ": ",
                 std::strerror(saved_errno), " (", rows_.size(),
                 " samples recorded before are intact; re-run to resume)");
  }
  ::close(fd);
  rows_.emplace(id, row);
}

size_t RunStore::drop_error_rows(const std::function<bool(const std::string&)>& mine) {
  size_t dropped = 0;
  // Other parts first, each only while no writer holds it (its lock is taken without waiting).
  for (const auto& path : list_sample_parts(dir_)) {
    if (path == samples_path_) continue;
    const std::filesystem::path lock = dir_ / part_lock_name_of(path);
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      SamplePart part = read_sample_part(path);
      std::string text;
      size_t dropped_here = 0;
      for (const auto& row : part.rows) {
        const std::string id = row["id"].get<std::string>();
        if (row.contains("error") && !row["error"].is_null() && (!mine || mine(id))) {
          rows_.erase(id);
          other_part_of_.erase(id);
          ++dropped_here;
        } else {
          text += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        }
      }
      if (dropped_here) write_file_atomic(path, text);  // a torn tail there is dropped with them
      dropped += dropped_here;
    }
    ::close(fd);
  }
  std::string text;
  // Keep file order for the rows that stay.
  std::ifstream in(samples_path_, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json row = nlohmann::json::parse(line);
    if (row.contains("error") && !row["error"].is_null()) {
      rows_.erase(row["id"].get<std::string>());
      ++dropped;
    } else {
      text += line + "\n";
    }
  }
  if (dropped) write_file_atomic(samples_path_, text);
  return dropped;
}

void RunStore::write_json(const std::string& name, const nlohmann::json& value) const {
  write_file_atomic(dir_ / name,
                    value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void record_run_failure(const std::filesystem::path& dir, const std::string& error) {
  if (!std::filesystem::is_directory(dir)) return;
  nlohmann::json status = {{"schema_version", kRecordSchemaVersion}, {"status", "failed"}, {"error", error}};
  write_file_atomic(dir / RunStore::kRunStatusFile,
                    status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace kvbench
