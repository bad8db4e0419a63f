// SPDX-License-Identifier: Apache-2.0
// `kvbench data fetch` and `kvbench data check` through the binary, against a loopback HTTP server
// (tests/support/range_http_server.py: Range requests, dropped connections, request log) serving
// generated stand-ins for the LongBench files (tests/support/make_data_fixture.py) with their own
// checksum table: fresh download from the zip archive and per file, resume after an interrupted
// download without fetching bytes twice, a server that ignores ranges, checksum mismatch, 404;
// `data check` verdicts (ok, equivalent LF/gzip copies, differs, missing) and exit codes, and the
// real ../shared/data copies against the official checksums.
#include "harness/cli/data_commands.h"
#include "harness/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <zlib.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

std::string env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : fallback;
}

struct Result {
  int code;
  std::string out;  // stdout + stderr
};

Result run(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

Result kvbench(const std::string& args) { return run(env("KVBENCH_BINARY", "kvbench") + " " + args); }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string gzip(const std::string& text) {
  std::string out(compressBound(text.size()) + 64, '\0');
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string crlf_to_lf(std::string text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i)
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) out += text[i];
  return out;
}

// The generated fixture, made once per test binary.
const fs::path& fixture() {
  static const fs::path dir = [] {
    fs::path d = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "test_data_cli" / "fixture";
    run("rm -rf '" + d.string() + "'");
    fs::create_directories(d);
    Result r = run("'" + env("KVBENCH_PYTHON", "python3") + "' '" + env("KVBENCH_SOURCE_DIR", KVBENCH_SOURCE_DIR) +
                   "/tests/support/make_data_fixture.py' '" + env("KVBENCH_SOURCE_DIR", KVBENCH_SOURCE_DIR) +
                   "' '" + d.string() + "'");
    EXPECT_EQ(r.code, 0) << r.out;
    return d;
  }();
  return dir;
}

// A fresh data root holding the fixture's checksum table where the registry expects it.
fs::path fresh_root(const std::string& name) {
  fs::path root = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "test_data_cli" / name;
  run("rm -rf '" + root.string() + "'");
  fs::create_directories(root / "longbench");
  fs::copy_file(fixture() / "OFFICIAL_CHECKSUMS.tsv", root / "longbench" / "OFFICIAL_CHECKSUMS.tsv");
  return root;
}

// The loopback server for one phase of a test; stopped (SIGTERM) when it goes out of scope.
class Server {
 public:
  explicit Server(const fs::path& root, std::vector<std::string> extra = {}) {
    static int counter = 0;
    dir_ = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "test_data_cli" / ("server" + std::to_string(counter++));
    run("rm -rf '" + dir_.string() + "'");
    fs::create_directories(dir_);
    std::vector<std::string> args = {env("KVBENCH_PYTHON", "python3"),
                                     env("KVBENCH_SOURCE_DIR", KVBENCH_SOURCE_DIR) + "/tests/support/range_http_server.py",
                                     root.string(), "--port-file", (dir_ / "port").string(), "--log",
                                     (dir_ / "log.jsonl").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    for (int i = 0; i < 200 && !fs::exists(dir_ / "port"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    port_ = read_file(dir_ / "port");
    EXPECT_FALSE(port_.empty()) << "the test server did not start";
  }
  ~Server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + port_ + "/" + path; }
  std::vector<json> requests() const {
    std::vector<json> out;
    std::ifstream in(dir_ / "log.jsonl");
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line));
    return out;
  }

 private:
  pid_t pid_ = -1;
  fs::path dir_;
  std::string port_;
};

std::string official(const std::string& file) { return read_file(fixture() / "official" / file); }

int64_t zip_size() { return static_cast<int64_t>(fs::file_size(fixture() / "serve" / "data.zip")); }

std::string fetch(const fs::path& root, const std::string& names, const std::string& base_url,
                  const std::string& extra = "") {
  return "data fetch " + names + " --data-root '" + root.string() + "' --base-url " + base_url + " " + extra;
}

// The same commands in-process (no process start-up: most cases run this way; the CLI parsing is
// covered by the cases that go through the binary).
std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

kvbench::DataCommandArgs data_args(const fs::path& root, const std::string& names) {
  kvbench::DataCommandArgs args;
  args.sources.data_root = root;
  args.names = words(names);
  return args;
}

Result in_process(bool check, const kvbench::DataCommandArgs& args) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int code = -1;
  try {
    code = check ? kvbench::run_data_check(args) : kvbench::run_data_fetch(args);
  } catch (const kvbench::Error& e) {
    std::cerr << "kvbench: error: " << e.what() << "\n";
    code = e.exit_code();
  }
  std::string out = ::testing::internal::GetCapturedStdout();
  out += ::testing::internal::GetCapturedStderr();
  return {code, out};
}

Result fetch_in_process(const fs::path& root, const std::string& names, const std::string& base_url,
                        int retries = 3, const fs::path& sources = {}) {
  kvbench::DataCommandArgs args = data_args(root, names);
  args.sources.base_url = base_url;
  args.sources.sources = sources;
  args.retries = retries;
  return in_process(false, args);
}

Result check_in_process(const fs::path& root, const std::string& names, bool allow_missing = false,
                        bool json_output = false) {
  kvbench::DataCommandArgs args = data_args(root, names);
  args.allow_missing = allow_missing;
  args.json = json_output;
  return in_process(true, args);
}

TEST(DataFetch, ZipArchiveFreshDownloadThenCachedAndPresent) {
  fs::path root = fresh_root("fresh");
  Server server(fixture() / "serve");
  Result r = kvbench(fetch(root, "narrativeqa qasper.jsonl", server.url()));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("longbench/narrativeqa.jsonl"));
  EXPECT_THAT(r.out, HasSubstr("fetched"));
  EXPECT_EQ(read_file(root / "longbench/data/narrativeqa.jsonl"), official("narrativeqa.jsonl"));
  EXPECT_EQ(read_file(root / "longbench/data/qasper.jsonl"), official("qasper.jsonl"));
  EXPECT_FALSE(fs::exists(root / "longbench/data/narrativeqa.jsonl.part"));
  EXPECT_FALSE(fs::exists(root / "downloads/longbench/data.zip.part"));
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(root / "downloads/longbench/data.zip")), zip_size());
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["path"], "/data.zip");
  EXPECT_TRUE(requests[0]["range"].is_null());
  EXPECT_EQ(requests[0]["sent"], zip_size());

  // Another file comes out of the kept archive; files already there are not fetched again.
  r = fetch_in_process(root, "hotpotqa_e narrativeqa", server.url());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_file(root / "longbench/data/hotpotqa_e.jsonl"), official("hotpotqa_e.jsonl"));
  EXPECT_THAT(r.out, HasSubstr("present"));
  EXPECT_EQ(server.requests().size(), 1u);

  // data check agrees: the fetched files are ok.
  r = check_in_process(root, "narrativeqa qasper hotpotqa_e");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("3 files: 3 ok, 0 equivalent"));
}

TEST(DataFetch, ResumesAnInterruptedDownloadWithoutRefetchingBytes) {
  const int64_t cut = zip_size() * 2 / 5;
  fs::path root = fresh_root("resume");
  {
    Server server(fixture() / "serve", {"--drop", "/data.zip:" + std::to_string(cut) + ":1"});
    // No retries: the command fails and keeps the partial archive.
    Result r = kvbench(fetch(root, "narrativeqa", server.url(), "--retries 0"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr("Transferred a partial file"));
    EXPECT_THAT(r.out, HasSubstr("run again to resume"));
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(root / "downloads/longbench/data.zip.part")), cut);
    EXPECT_FALSE(fs::exists(root / "longbench/data/narrativeqa.jsonl"));
    // Run again: one Range request for the rest.
    r = fetch_in_process(root, "narrativeqa", server.url());
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("resuming at byte " + std::to_string(cut)));
    EXPECT_EQ(read_file(root / "longbench/data/narrativeqa.jsonl"), official("narrativeqa.jsonl"));
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_TRUE(requests[0]["dropped"].get<bool>());
    EXPECT_EQ(requests[1]["range"], "bytes=" + std::to_string(cut) + "-");
    EXPECT_EQ(requests[1]["status"], 206);
    EXPECT_EQ(requests[0]["sent"].get<int64_t>() + requests[1]["sent"].get<int64_t>(), zip_size());
  }
  {
    // Within one command: the dropped connection is retried from where it stopped.
    fs::path again = fresh_root("resume_retry");
    Server server(fixture() / "serve", {"--drop", "/data.zip:" + std::to_string(cut) + ":1"});
    Result r = fetch_in_process(again, "narrativeqa", server.url());
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("retrying (1/3)"));
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[1]["range"], "bytes=" + std::to_string(cut) + "-");
    EXPECT_EQ(requests[0]["sent"].get<int64_t>() + requests[1]["sent"].get<int64_t>(), zip_size());
    EXPECT_EQ(read_file(again / "longbench/data/narrativeqa.jsonl"), official("narrativeqa.jsonl"));
  }
  {
    // A server without range support answers 200: the partial file is restarted from zero.
    fs::path restart = fresh_root("resume_no_ranges");
    write_file(restart / "downloads/longbench/data.zip.part", read_file(fixture() / "serve/data.zip").substr(0, 1000));
    Server server(fixture() / "serve", {"--ignore-range"});
    Result r = fetch_in_process(restart, "narrativeqa", server.url());
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("server ignored the range request; restarting"));
    EXPECT_EQ(read_file(restart / "longbench/data/narrativeqa.jsonl"), official("narrativeqa.jsonl"));
  }
}

TEST(DataFetch, PerFileDownloadsResumeAndVerify) {
  const fs::path sources = fixture() / "sources_files.json";
  const int64_t size = static_cast<int64_t>(official("narrativeqa.jsonl").size());
  fs::path root = fresh_root("per_file");
  Server server(fixture() / "serve", {"--drop", "/files/narrativeqa.jsonl:" + std::to_string(size / 3) + ":1"});
  Result r = fetch_in_process(root, "narrativeqa multi_news", server.url(), 0, sources);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(read_file(root / "longbench/data/multi_news.jsonl"), official("multi_news.jsonl"));
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(root / "longbench/data/narrativeqa.jsonl.part")), size / 3);
  r = fetch_in_process(root, "narrativeqa multi_news", server.url(), 3, sources);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_file(root / "longbench/data/narrativeqa.jsonl"), official("narrativeqa.jsonl"));
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);  // narrativeqa (dropped), multi_news, narrativeqa (rest)
  EXPECT_EQ(requests[2]["range"], "bytes=" + std::to_string(size / 3) + "-");
  EXPECT_EQ(requests[0]["sent"].get<int64_t>() + requests[2]["sent"].get<int64_t>(), size);

  // A wrong file: kept aside, not installed.
  fs::path bad_root = fresh_root("per_file_bad");
  Server bad(fixture() / "bad");
  r = fetch_in_process(bad_root, "narrativeqa", bad.url(), 3, sources);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("checksum mismatch for narrativeqa.jsonl"));
  EXPECT_FALSE(fs::exists(bad_root / "longbench/data/narrativeqa.jsonl"));
  EXPECT_TRUE(fs::exists(bad_root / "longbench/data/narrativeqa.jsonl.part.mismatch"));
}

TEST(DataFetch, ChecksumMismatchFailsClearlyAndKeepsTheFileAside) {
  fs::path root = fresh_root("mismatch");
  Server server(fixture() / "bad");
  Result r = fetch_in_process(root, "narrativeqa qasper", server.url());
  EXPECT_EQ(r.code, 1) << r.out;
  const std::string sha = run("sha256sum '" + (fixture() / "official/narrativeqa.jsonl").string() + "'").out.substr(0, 64);
  EXPECT_THAT(r.out, HasSubstr("checksum mismatch for narrativeqa.jsonl"));
  EXPECT_THAT(r.out, HasSubstr("expected size " + std::to_string(official("narrativeqa.jsonl").size()) +
                               " sha256 " + sha + ", got size"));
  EXPECT_FALSE(fs::exists(root / "longbench/data/narrativeqa.jsonl"));
  EXPECT_TRUE(fs::exists(root / "longbench/data/narrativeqa.jsonl.part.mismatch"));
  // The archive is moved aside too (the next fetch downloads it again); qasper from it fails.
  EXPECT_FALSE(fs::exists(root / "downloads/longbench/data.zip"));
  EXPECT_TRUE(fs::exists(root / "downloads/longbench/data.zip.mismatch"));
  EXPECT_THAT(r.out, HasSubstr("the archive failed verification above"));
  EXPECT_THAT(r.out, HasSubstr("2 of 2 file(s) failed"));
}

TEST(DataFetch, HttpErrorsNameTheUrl) {
  fs::path root = fresh_root("not_found");
  Server server(fixture() / "serve");
  Result r = kvbench(fetch(root, "narrativeqa", server.url("nothing/here/")));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("download failed: " + server.url("nothing/here/data.zip") + ": HTTP 404"));
  EXPECT_FALSE(fs::exists(root / "downloads/longbench/data.zip.part"));
  EXPECT_FALSE(fs::exists(root / "longbench/data/narrativeqa.jsonl"));
  // Unknown names are usage errors with a suggestion; fetch needs a name.
  r = fetch_in_process(root, "narativeqa", server.url());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("unknown data file or group 'narativeqa' (did you mean 'narrativeqa'?)"));
  EXPECT_EQ(kvbench("data fetch --data-root /tmp").code, 2);
  // A read-only data root (as ../shared/data) is refused before anything is written.
  fs::path read_only = fresh_root("read_only");
  const size_t requests_before = server.requests().size();
  fs::permissions(read_only, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  r = fetch_in_process(read_only, "narrativeqa", server.url());
  fs::permissions(read_only, fs::perms::owner_write, fs::perm_options::add);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr(read_only.string() + " is read-only; download into another folder with --data-root DIR"));
  EXPECT_FALSE(fs::exists(read_only / "downloads"));
  EXPECT_EQ(server.requests().size(), requests_before);
}

TEST(DataCheck, ReportsOkEquivalentDiffersAndMissing) {
  fs::path root = fresh_root("check");
  const fs::path data = root / "longbench/data";
  write_file(data / "qasper.jsonl", official("qasper.jsonl"));                                // ok
  write_file(data / "hotpotqa.jsonl", crlf_to_lf(official("hotpotqa.jsonl")));                // LF copy
  write_file(data / "multi_news.jsonl.gz", gzip(crlf_to_lf(official("multi_news.jsonl"))));   // gzip LF
  write_file(data / "trec.jsonl.gz", gzip(official("trec.jsonl")));                          // gzip
  std::string changed = official("lcc.jsonl");
  changed[5] = 'X';
  write_file(data / "lcc.jsonl", changed);                                                   // differs
  write_file(data / "samsum.jsonl.gz", "\x1f\x8b\x08\x00garbage");                           // corrupt gzip

  const std::string names = "qasper hotpotqa multi_news trec lcc samsum narrativeqa";
  Result r = kvbench("data check " + names + " --data-root '" + root.string() + "'");
  EXPECT_EQ(r.code, 1) << r.out;
  auto line_of = [&](const std::string& file) {
    size_t at = r.out.find("longbench/" + file + " ");
    return at == std::string::npos ? std::string() : r.out.substr(at, r.out.find('\n', at) - at);
  };
  EXPECT_THAT(line_of("qasper.jsonl"), HasSubstr(" ok "));
  EXPECT_THAT(line_of("hotpotqa.jsonl"), HasSubstr("equivalent content-identical (LF line endings; official is CRLF)"));
  EXPECT_THAT(line_of("multi_news.jsonl"), HasSubstr("equivalent content-identical (gzip, LF line endings"));
  EXPECT_THAT(line_of("trec.jsonl"), HasSubstr("equivalent content-identical (gzip)"));
  const std::string lcc = official("lcc.jsonl");
  const std::string lcc_sha = run("sha256sum '" + (fixture() / "official/lcc.jsonl").string() + "'").out.substr(0, 64);
  EXPECT_THAT(line_of("lcc.jsonl"), HasSubstr("differs"));
  EXPECT_THAT(line_of("lcc.jsonl"), HasSubstr("expected size " + std::to_string(lcc.size()) + " sha256 " + lcc_sha +
                                              "; actual size " + std::to_string(changed.size()) + " sha256 "));
  EXPECT_THAT(line_of("samsum.jsonl"), HasSubstr("differs"));
  EXPECT_THAT(line_of("samsum.jsonl"), HasSubstr("corrupt gzip"));
  EXPECT_THAT(line_of("narrativeqa.jsonl"), HasSubstr("missing"));
  EXPECT_THAT(line_of("narrativeqa.jsonl"), HasSubstr((data / "narrativeqa.jsonl").string()));
  EXPECT_THAT(r.out, HasSubstr("7 files: 1 ok, 3 equivalent (same content, other encoding), 2 differ, 1 missing"));

  // JSON output carries expected and actual values.
  r = check_in_process(root, names, false, true);
  EXPECT_EQ(r.code, 1);
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["summary"], json({{"ok", 1}, {"equivalent", 3}, {"differs", 2}, {"missing", 1}}));
  for (const auto& row : doc["files"]) {
    if (row["file"] == "lcc.jsonl") {
      EXPECT_EQ(row["status"], "differs");
      EXPECT_EQ(row["expected_sha256"], lcc_sha);
      EXPECT_EQ(row["actual_size"], changed.size());
    }
    if (row["file"] == "multi_news.jsonl") {
      EXPECT_TRUE(row["gzip"].get<bool>() && row["lf"].get<bool>());
      EXPECT_EQ(row["path"], (data / "multi_news.jsonl.gz").string());
    }
  }

  // Exit codes follow what was asked for.
  EXPECT_EQ(check_in_process(root, "qasper hotpotqa multi_news trec").code, 0);
  EXPECT_EQ(check_in_process(root, "qasper narrativeqa").code, 1);
  EXPECT_EQ(check_in_process(root, "qasper narrativeqa", true).code, 0);
  EXPECT_EQ(check_in_process(root, "lcc", true).code, 1);
  r = check_in_process(root, "");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("34 files: 1 ok, 3 equivalent"));
  r = check_in_process(root, "longbench/qasper");
  EXPECT_EQ(r.code, 0) << r.out;
  r = check_in_process(root, "qaspr");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("did you mean 'qasper'?"));
  // A missing checksum table is named.
  kvbench::DataCommandArgs elsewhere = data_args(root / "nowhere", "qasper");
  elsewhere.sources.checksums = fixture() / "OFFICIAL_CHECKSUMS.tsv";  // --checksums FILE
  r = in_process(true, elsewhere);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("1 file: 0 ok, 0 equivalent (same content, other encoding), 0 differ, 1 missing"));
  r = check_in_process(root / "nowhere", "qasper");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("checksum table not found: " + (root / "nowhere/longbench/OFFICIAL_CHECKSUMS.tsv").string()));
}

TEST(DataCheck, SharedLongBenchCopiesMatchTheOfficialChecksums) {
  // ../shared/data ships three LongBench files as gzip with LF line endings; against the real
  // official table they are content-identical, and the other 31 are reported missing.
  const std::string data_root = env("KVBENCH_DATA_DIR");
  ASSERT_FALSE(data_root.empty());
  Result r = kvbench("data check multi_news multifieldqa_zh passage_retrieval_zh --data-root '" + data_root + "'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("3 files: 0 ok, 3 equivalent"));
  EXPECT_THAT(r.out, HasSubstr("content-identical (gzip, LF line endings; official is CRLF)"));
  r = check_in_process(data_root, "");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("34 files: 0 ok, 3 equivalent (same content, other encoding), 0 differ, 31 missing"));
  EXPECT_EQ(check_in_process(data_root, "", true).code, 0);
}

TEST(DataCli, HelpHasExamples) {
  for (const char* cmd : {"data", "data check", "data fetch"}) {
    Result r = kvbench(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr("Examples:")) << cmd;
  }
}

}  // namespace
