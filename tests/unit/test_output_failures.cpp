// SPDX-License-Identifier: Apache-2.0
// The run store when its directory cannot be written: a full disk (a 64 KiB tmpfs when the test
// runs as root; a file-size limit, RLIMIT_FSIZE, otherwise and in addition, which makes the kernel
// refuse the write half-way through a row) and a read-only directory (a read-only remount as root,
// else file modes). Each failure is a kvbench::Error of kind kOutput with a one-line message naming
// the file, and what was recorded before is intact: whole rows, readable by the next run.
#include "harness/error.h"
#include "harness/run/run_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace kvbench {
namespace {

using nlohmann::json;

std::filesystem::path scratch(const std::string& name) {
  const char* tmp = std::getenv("KVBENCH_TEST_TMP");
  std::filesystem::path dir = std::filesystem::path(tmp ? tmp : "/tmp") / "test_output_failures" / name;
  ::umount2(dir.c_str(), MNT_DETACH);  // a mount left by an earlier, interrupted run
  // Not std::filesystem::remove_all: the copy libtorch.so exports crashes in binaries linking it.
  EXPECT_EQ(std::system(("chmod -R u+w '" + dir.string() + "' 2>/dev/null; rm -rf '" + dir.string() + "'").c_str()), 0);
  std::filesystem::create_directories(dir);
  return dir;
}

// Mounts a tmpfs of `kib` KiB on `dir` (root only); false when this process may not mount.
bool mount_tmpfs(const std::filesystem::path& dir, int kib) {
  return ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + std::to_string(kib) + "k").c_str()) == 0;
}

json row(int i) {
  return {{"id", "s" + std::to_string(i)}, {"prediction", std::string(700, 'a' + i % 26)}, {"error", nullptr}};
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Appends rows until the store refuses one; returns how many it took. The refusal must be a
// one-line kOutput error naming samples.jsonl and containing `reason`.
int append_until_refused(RunStore& store, const std::string& reason) {
  for (int i = 0; i < 100000; ++i) {
    try {
      store.append_sample(row(i));
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::kOutput) << message;
      EXPECT_EQ(e.exit_code(), 1);
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_NE(message.find("samples.jsonl: cannot record sample s" + std::to_string(i)), std::string::npos) << message;
      EXPECT_NE(message.find(reason), std::string::npos) << message;
      return i;
    }
  }
  ADD_FAILURE() << "the store never ran out of space";
  return -1;
}

// samples.jsonl holds exactly rows 0..n-1, whole lines, and a new store reads them all back.
void expect_rows_intact(const std::filesystem::path& dir, int n) {
  std::string expected;
  for (int i = 0; i < n; ++i) expected += row(i).dump() + "\n";
  EXPECT_EQ(read_text(dir / "samples.jsonl"), expected);
  RunStore reopened(dir);
  EXPECT_EQ(reopened.torn_bytes_dropped(), 0u);
  EXPECT_EQ(reopened.rows().size(), static_cast<size_t>(n));
}

TEST(OutputFailures, FullTmpfsRefusesTheRowAndKeepsEveryRecordedOne) {
  const std::filesystem::path mount = scratch("tmpfs");
  if (!mount_tmpfs(mount, 64)) GTEST_SKIP() << "cannot mount a tmpfs (not root); FileSizeLimit covers the write path";
  const std::filesystem::path dir = mount / "run";
  int recorded = 0;
  {
    RunStore store(dir);
    recorded = append_until_refused(store, "No space left on device");
    EXPECT_GT(recorded, 10);  // 64 KiB hold dozens of ~730-byte rows
  }
  expect_rows_intact(dir, recorded);
  ::umount2(mount.c_str(), MNT_DETACH);
}

TEST(OutputFailures, AtomicWriteOnFullDiskKeepsTheOldFile) {
  const std::filesystem::path mount = scratch("tmpfs_atomic");
  if (!mount_tmpfs(mount, 16)) GTEST_SKIP() << "cannot mount a tmpfs (not root)";
  RunStore store(mount);
  store.write_json("run.json", {{"status", "running"}});
  const std::string before = read_text(mount / "run.json");
  std::ofstream(mount / "filler") << std::string(64 * 1024, 'x');  // fills the rest (short write)
  try {
    store.write_json("run.json", {{"status", "complete"}, {"padding", std::string(8192, 'p')}});
    ADD_FAILURE() << "write on a full disk succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kOutput);
    EXPECT_NE(std::string(e.what()).find("run.json: cannot write: No space left on device"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_text(mount / "run.json"), before);
  for (const auto& entry : std::filesystem::directory_iterator(mount))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  ::umount2(mount.c_str(), MNT_DETACH);
}

TEST(OutputFailures, FileSizeLimitCutsTheHalfWrittenRowAway) {
  // RLIMIT_FSIZE: the kernel accepts a row's bytes up to the limit, then fails the write (EFBIG),
  // the way a disk filling up mid-row does. Runs in a child so the limit stays there.
  const std::filesystem::path dir = scratch("fsize") / "run";
  const int kFitting = 5;
  const size_t row_bytes = row(0).dump().size() + 1;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills the writer instead of failing the write
    rlimit limit{kFitting * row_bytes + row_bytes / 2, RLIM_INFINITY};
    limit.rlim_max = limit.rlim_cur;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(3);
    try {
      RunStore store(dir);
      const int recorded = append_until_refused(store, "File too large");
      ::_exit(recorded == kFitting && !::testing::Test::HasFailure() ? 0 : 4);
    } catch (...) {
      ::_exit(5);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the store accepted a different number of rows than fit, or its error was wrong";
  expect_rows_intact(dir, kFitting);
}

TEST(OutputFailures, ReadOnlyDirectoryIsAOneLineOutputError) {
  const std::filesystem::path base = scratch("readonly");
  const bool mounted = mount_tmpfs(base, 256);
  const std::filesystem::path dir = base / "run";
  {
    RunStore store(dir);
    for (int i = 0; i < 3; ++i) store.append_sample(row(i));
  }
  if (mounted) {
    ASSERT_EQ(::mount(nullptr, base.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0);
  } else {
    ASSERT_EQ(std::system(("chmod -R a-w '" + base.string() + "'").c_str()), 0);
    if (::access(dir.c_str(), W_OK) == 0) GTEST_SKIP() << "file modes do not stop this user";
  }
  try {
    RunStore store(dir);
    ADD_FAILURE() << "opened a read-only run directory for writing";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::kOutput) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(dir.string()), std::string::npos) << message;
    EXPECT_NE(message.find(mounted ? "Read-only file system" : "Permission denied"), std::string::npos) << message;
  }
  std::string expected;
  for (int i = 0; i < 3; ++i) expected += row(i).dump() + "\n";
  EXPECT_EQ(read_text(dir / "samples.jsonl"), expected);
  if (mounted) ::umount2(base.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace kvbench
