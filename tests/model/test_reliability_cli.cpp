// SPDX-License-Identifier: Apache-2.0
// `kvbench run` on the embedded model (SmolLM2-135M, fp32, CPU) under the failures a long sweep
// meets: the same config twice gives byte-identical predictions and scores; a full disk (a tmpfs
// filled up, as root) and a read-only output directory (a read-only remount as root, file modes
// otherwise) end with exit code 1, one error line, and every recorded sample intact and resumable;
// a sweep cell whose model is over model.max_weight_bytes is recorded as failed (run.json, the
// results table) and the next cell runs. Skips when setup has not converted the embedded model.
#include "harness/run/run_config.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace kvbench {
namespace {

using nlohmann::json;

std::string model_dir() { return expand_env("${KVBENCH_CACHE}/models/smollm2-135m-instruct"); }

std::filesystem::path scratch(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(std::getenv("KVBENCH_TEST_TMP")) / "test_reliability_cli" / name;
  ::umount2((dir / "out").c_str(), MNT_DETACH);  // the tests mount on <dir>/out; an interrupted
  ::umount2(dir.c_str(), MNT_DETACH);            // earlier run (timeout) may have left one
  // Not std::filesystem::remove_all: the copy libtorch.so exports crashes in binaries linking it.
  EXPECT_EQ(std::system(("chmod -R u+w '" + dir.string() + "' 2>/dev/null; rm -rf '" + dir.string() + "'").c_str()), 0);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// 3 NIAH samples of 300 tokens (depths 0, 50, 100), 8 new tokens each: seconds on a CPU.
std::filesystem::path write_config(const std::filesystem::path& dir, const std::string& extra = "") {
  const std::filesystem::path path = dir / "config.yaml";
  std::ofstream(path) << "model: {path: " << model_dir() << ", dtype: float32, device: cpu}\n"
                      << "method: {name: full}\n"
                      << "task:\n  name: niah.classic\n"
                      << "  params: {context_lengths: [300], depth_percents: [0, 50, 100], max_new_tokens: 8}\n"
                      << extra;
  return path;
}

struct CliResult {
  int exit_code = -1;
  std::string out, err;
  // stderr without the status lines ("[run] ...", "[data] ...").
  std::vector<std::string> error_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '[') lines.push_back(line);
    return lines;
  }
};

CliResult run_cli(const std::filesystem::path& config, const std::filesystem::path& out, const std::string& args = "") {
  const std::filesystem::path log = config.parent_path() / "cli";
  const std::string cmd = std::string(std::getenv("KVBENCH_BINARY")) + " run '" + config.string() + "' --no-progress --out '" +
                          out.string() + "' " + args + " > '" + log.string() + ".out' 2> '" + log.string() + ".err'";
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(log.string() + ".out");
  r.err = read_text(log.string() + ".err");
  return r;
}

// The one run directory under `out` (the one holding config.json).
std::filesystem::path run_dir(const std::filesystem::path& out) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(out))
    if (e.path().filename() == "config.json" && e.path().parent_path() != out) return e.path().parent_path();
  return {};
}

std::map<std::string, json> rows_by_id(const std::filesystem::path& dir) {
  std::map<std::string, json> rows;
  std::ifstream in(dir / "samples.jsonl");
  for (std::string line; std::getline(in, line);) {
    json row = json::parse(line);
    EXPECT_EQ(rows.count(row["id"]), 0u) << "sample recorded twice: " << row["id"];
    rows[row["id"].get<std::string>()] = row;
  }
  return rows;
}

bool mount_tmpfs(const std::filesystem::path& dir, int kib) {
  return ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + std::to_string(kib) + "k").c_str()) == 0;
}

class ReliabilityCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(model_dir() + "/config.json"))
      GTEST_SKIP() << "embedded model not converted (run scripts/setup.sh): " << model_dir();
  }
};

TEST_F(ReliabilityCli, SameConfigTwiceGivesByteIdenticalPredictionsAndScores) {
  const std::filesystem::path dir = scratch("determinism");
  const std::filesystem::path config = write_config(dir);
  CliResult a = run_cli(config, dir / "a");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  CliResult b = run_cli(config, dir / "b");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto dir_a = run_dir(dir / "a"), dir_b = run_dir(dir / "b");
  EXPECT_EQ(std::filesystem::relative(dir_a, dir / "a"), std::filesystem::relative(dir_b, dir / "b"));
  auto rows_a = rows_by_id(dir_a), rows_b = rows_by_id(dir_b);
  ASSERT_EQ(rows_a.size(), 3u);
  ASSERT_EQ(rows_b.size(), 3u);
  for (const auto& [id, row] : rows_a) {
    SCOPED_TRACE(id);
    const json& other = rows_b.at(id);
    EXPECT_TRUE(row["error"].is_null()) << row["error"];
    for (const char* field : {"prediction", "scores", "prompt_sha256", "input_tokens", "output_tokens", "references"})
      EXPECT_EQ(row[field].dump(), other[field].dump()) << field;
  }
  json metrics_a = json::parse(read_text(dir_a / "metrics.json"));
  json metrics_b = json::parse(read_text(dir_b / "metrics.json"));
  for (const char* field : {"scores", "buckets", "n_samples", "run"})
    EXPECT_EQ(metrics_a[field].dump(), metrics_b[field].dump()) << field;
}

TEST_F(ReliabilityCli, FullDiskIsOneErrorLineExitOneAndLosesNothing) {
  const std::filesystem::path dir = scratch("disk_full");
  const std::filesystem::path out = dir / "out";
  std::filesystem::create_directories(out);
  if (!mount_tmpfs(out, 1024)) GTEST_SKIP() << "cannot mount a tmpfs (not root); test_output_failures covers the store";
  const std::filesystem::path config = write_config(dir);
  ASSERT_EQ(run_cli(config, out, "--limit 1").exit_code, 0);
  const std::filesystem::path run = run_dir(out);
  const std::string recorded = read_text(run / "samples.jsonl");
  // Fill the file system to the last byte.
  {
    std::ofstream filler(out / "filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), block.size())) {}
  }
  CliResult full = run_cli(config, out);
  EXPECT_EQ(full.exit_code, 1) << full.err;
  ASSERT_EQ(full.error_lines().size(), 1u) << full.err;
  EXPECT_EQ(full.error_lines()[0].rfind("kvbench: error: ", 0), 0u) << full.err;
  EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;
  EXPECT_EQ(read_text(run / "samples.jsonl"), recorded);
  EXPECT_EQ(json::parse(read_text(run / "config.json"))["run"]["hash"].get<std::string>().size(), 8u);  // still whole
  // Space back: the same command resumes and records the 2 missing samples once each.
  std::filesystem::remove(out / "filler");
  CliResult resumed = run_cli(config, out);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("(2 run, 1 already recorded)"), std::string::npos) << resumed.err;
  EXPECT_EQ(rows_by_id(run).size(), 3u);
  EXPECT_EQ(read_text(run / "samples.jsonl").substr(0, recorded.size()), recorded);
  ::umount2(out.c_str(), MNT_DETACH);
}

TEST_F(ReliabilityCli, ReadOnlyOutputIsOneErrorLineExitOneAndLosesNothing) {
  const std::filesystem::path dir = scratch("read_only");
  const std::filesystem::path out = dir / "out";
  std::filesystem::create_directories(out);
  const bool mounted = mount_tmpfs(out, 4096);
  const std::filesystem::path config = write_config(dir);
  ASSERT_EQ(run_cli(config, out, "--limit 1").exit_code, 0);
  const std::filesystem::path run = run_dir(out);
  const std::string recorded = read_text(run / "samples.jsonl");
  if (mounted) {
    ASSERT_EQ(::mount(nullptr, out.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0);
  } else {
    ASSERT_EQ(std::system(("chmod -R a-w '" + out.string() + "'").c_str()), 0);
    if (::access(run.c_str(), W_OK) == 0) GTEST_SKIP() << "file modes do not stop this user";
  }
  CliResult refused = run_cli(config, out);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  ASSERT_EQ(refused.error_lines().size(), 1u) << refused.err;
  EXPECT_EQ(refused.error_lines()[0].rfind("kvbench: error: ", 0), 0u) << refused.err;
  EXPECT_NE(refused.err.find(mounted ? "Read-only file system" : "Permission denied"), std::string::npos) << refused.err;
  EXPECT_EQ(read_text(run / "samples.jsonl"), recorded);
  if (mounted) ::umount2(out.c_str(), MNT_DETACH);
}

TEST_F(ReliabilityCli, SweepCellOverItsWeightMemoryLimitIsRecordedAndTheNextCellRuns) {
  // fp32 weights of the 135M model take ~538 MB, bf16 ~269 MB: a 400 MB limit admits only bf16.
  const std::filesystem::path dir = scratch("memory_limit");
  const std::filesystem::path config =
      write_config(dir, "sweep: {grid: {model.dtype: [float32, bfloat16]}}\n");
  CliResult r = run_cli(config, dir / "out", "--limit 1 --set model.max_weight_bytes=400000000");
  EXPECT_EQ(r.exit_code, 1) << r.err;  // a failed cell fails the command, after the whole sweep
  ASSERT_EQ(r.error_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("out of memory: the weights of " + model_dir()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bytes in float32, more than model.max_weight_bytes (400000000)"), std::string::npos) << r.err;
  std::map<std::string, json> status_by_dtype;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "out")) {
    if (e.path().filename() != "run.json") continue;
    json status = json::parse(read_text(e.path()));
    const bool has_config = std::filesystem::exists(e.path().parent_path() / "config.json");
    const std::string dtype =
        has_config ? json::parse(read_text(e.path().parent_path() / "config.json"))["model"]["dtype"].get<std::string>()
                   : "float32";  // the failed cell never started, so it has only run.json
    status_by_dtype[dtype] = status;
  }
  ASSERT_EQ(status_by_dtype.size(), 2u) << r.err;
  EXPECT_EQ(status_by_dtype["float32"]["status"], "failed");
  EXPECT_NE(status_by_dtype["float32"]["error"].get<std::string>().find("out of memory"), std::string::npos);
  EXPECT_EQ(status_by_dtype["bfloat16"]["status"], "complete");
  // The results table shows both cells, the failed one as such.
  EXPECT_NE(r.out.find("| failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| complete"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace kvbench
