// SPDX-License-Identifier: Apache-2.0
// Malformed input on every file-based task (gsm8k, text2json.official): bad JSON, a non-object
// line, a missing field, a field of the wrong type, an empty file, a corrupt gzip file and a
// missing file. Under task.on_malformed=error each fails with a kInput error naming file:line and
// the field; under skip the malformed records are dropped and counted, while the file-level
// problems still fail. Through the runner, the count reaches run.json and metrics.json.
#include "datasets/jsonl_reader.h"
#include "harness/run/run_config.h"
#include "harness/run/runner.h"
#include "tests/datasets/task_test_support.h"

#include <gmock/gmock.h>
#include <zlib.h>

#include <fstream>

namespace kvbench {
namespace {

using testing::error_of;
using testing::make_context;
using testing::make_task;
using testing::read_json;
using testing::scratch_dir;
using testing::write_file;
using ::testing::HasSubstr;

// One file-based task: how to point it at a test file and what a good record looks like.
struct FileTask {
  std::string name;
  std::string protocol;
  std::string file_param;  // the task param naming the data file
  std::string field_a;     // the two required string fields
  std::string field_b;
  nlohmann::json extra;    // other params (e.g. no few-shot for gsm8k)

  std::string record(const std::string& a, const std::string& b) const {
    return nlohmann::json({{field_a, a}, {field_b, b}}).dump();
  }
  std::string good() const { return record("q", "a #### 1"); }
  nlohmann::json params(const std::filesystem::path& file) const {
    nlohmann::json p = extra;
    p[file_param] = file.string();
    return p;
  }
};

const std::vector<FileTask>& file_tasks() {
  static const std::vector<FileTask> tasks = {
      {"gsm8k", "gsm8k.lmeval", "test_file", "question", "answer", {{"num_fewshot", 0}}},
      {"gsm8k_cot", "gsm8k.lmeval", "test_file", "question", "answer", {{"num_fewshot", 0}}},
      {"text2json.official", "text2json.official", "file", "problem", "answer", nlohmann::json::object()},
  };
  return tasks;
}

struct Outcome {
  std::string error;     // empty: samples() succeeded
  ErrorKind kind = ErrorKind::kInternal;
  size_t samples = 0;
  nlohmann::json log;    // the context's MalformedLog
};

Outcome load(const FileTask& task, const std::filesystem::path& file, MalformedPolicy policy) {
  TaskContext context = make_context(task.protocol);
  context.on_malformed = policy;
  Outcome out;
  out.error = error_of([&] { out.samples = make_task(task.name, task.params(file))->samples(context).size(); },
                       &out.kind);
  out.log = context.malformed->to_json();
  return out;
}

std::string gzip(const std::string& text) {
  uLongf size = compressBound(text.size()) + 64;
  std::string out(size, '\0');
  // gzip wrapper: deflateInit2 with windowBits 15 + 16.
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

class MalformedInput : public ::testing::TestWithParam<FileTask> {
 protected:
  std::filesystem::path file(const std::string& name) const {
    return scratch_dir("malformed_input/" + GetParam().name) / name;
  }
  // The record-level case: `bad` as line 2 between good lines 1 and 3.
  void expect_record_case(const std::string& bad, const std::string& expected_message) {
    const FileTask& task = GetParam();
    auto path = file("records.jsonl");
    write_file(path, task.good() + "\n" + bad + "\n" + task.good() + "\n");
    Outcome strict = load(task, path, MalformedPolicy::kError);
    EXPECT_EQ(strict.kind, ErrorKind::kInput) << strict.error;
    EXPECT_THAT(strict.error, HasSubstr(path.string() + ":2: " + expected_message));
    Outcome lenient = load(task, path, MalformedPolicy::kSkip);
    EXPECT_EQ(lenient.error, "");
    EXPECT_EQ(lenient.samples, 2u);
    EXPECT_EQ(lenient.log["skipped"], 1) << lenient.log.dump();
    EXPECT_EQ(lenient.log["by_file"][path.string()], 1) << lenient.log.dump();
    ASSERT_EQ(lenient.log["examples"].size(), 1u);
    EXPECT_THAT(lenient.log["examples"][0].get<std::string>(), HasSubstr(path.string() + ":2: " + expected_message));
  }
  // A file-level problem: an error under both policies.
  void expect_file_error(const std::filesystem::path& path, const std::string& expected_message) {
    for (MalformedPolicy policy : {MalformedPolicy::kError, MalformedPolicy::kSkip}) {
      Outcome outcome = load(GetParam(), path, policy);
      EXPECT_EQ(outcome.kind, ErrorKind::kInput) << outcome.error;
      EXPECT_THAT(outcome.error, HasSubstr(path.string()));
      EXPECT_THAT(outcome.error, HasSubstr(expected_message));
    }
  }
};

TEST_P(MalformedInput, BadJson) { expect_record_case("{\"oops\": ", "invalid JSON"); }

TEST_P(MalformedInput, NonObjectLine) {
  expect_record_case("[1, 2]", "expected a JSON object, got array");
  expect_record_case("\"text\"", "expected a JSON object, got string");
}

TEST_P(MalformedInput, MissingField) {
  const FileTask& task = GetParam();
  expect_record_case(nlohmann::json({{task.field_a, "x"}}).dump(), "missing field '" + task.field_b + "'");
  expect_record_case(nlohmann::json({{task.field_b, "x"}}).dump(), "missing field '" + task.field_a + "'");
}

TEST_P(MalformedInput, WrongType) {
  const FileTask& task = GetParam();
  expect_record_case(nlohmann::json({{task.field_a, 5}, {task.field_b, "x"}}).dump(),
                     "field '" + task.field_a + "' must be a string, got number");
  expect_record_case(nlohmann::json({{task.field_a, "x"}, {task.field_b, {1}}}).dump(),
                     "field '" + task.field_b + "' must be a string, got array");
}

TEST_P(MalformedInput, EmptyAndAllMalformedFiles) {
  auto empty = file("empty.jsonl");
  write_file(empty, "");
  expect_file_error(empty, ": no records");
  write_file(empty, "\n  \n");
  expect_file_error(empty, ": no records");
  auto all_bad = file("all_bad.jsonl");
  write_file(all_bad, "{bad\n[1]\n");
  Outcome outcome = load(GetParam(), all_bad, MalformedPolicy::kSkip);
  EXPECT_THAT(outcome.error, HasSubstr(all_bad.string() + ": no records (all 2 were malformed and skipped"));
}

TEST_P(MalformedInput, CorruptGzip) {
  const FileTask& task = GetParam();
  std::string text;
  for (int i = 0; i < 200; ++i) text += task.record("question " + std::to_string(i), "answer #### " + std::to_string(i)) + "\n";
  std::string compressed = gzip(text);
  auto good = file("good.jsonl.gz");
  write_file(good, compressed);
  EXPECT_EQ(load(task, good, MalformedPolicy::kError).samples, 200u);
  // A flipped byte in the deflate stream, and a truncated stream.
  std::string flipped = compressed;
  flipped[compressed.size() / 2] = static_cast<char>(flipped[compressed.size() / 2] ^ 0x5a);
  auto bad = file("flipped.jsonl.gz");
  write_file(bad, flipped);
  expect_file_error(bad, "read error");
  auto truncated = file("truncated.jsonl.gz");
  write_file(truncated, compressed.substr(0, compressed.size() / 2));
  expect_file_error(truncated, "read error");
}

TEST_P(MalformedInput, MissingFile) { expect_file_error(file("absent.jsonl"), "not found"); }

INSTANTIATE_TEST_SUITE_P(FileTasks, MalformedInput, ::testing::ValuesIn(file_tasks()),
                         [](const auto& info) {
                           std::string name = info.param.name;
                           for (char& c : name)
                             if (c == '.') c = '_';
                           return name;
                         });

// A few-shot pool smaller than num_fewshot (found by tests/fuzz: it was an internal assertion in
// random.sample) is an input error naming the train file, under both policies.
TEST(MalformedInputFewShot, Gsm8kTrainFileWithFewerRecordsThanNumFewshot) {
  const FileTask& gsm8k = file_tasks()[0];
  const auto dir = scratch_dir("malformed_input/gsm8k_fewshot");
  write_file(dir / "test.jsonl", gsm8k.good() + "\n");
  write_file(dir / "train.jsonl", gsm8k.good() + "\n{\"question\": 3}\n" + gsm8k.good() + "\n");
  nlohmann::json params = {{"test_file", (dir / "test.jsonl").string()}, {"train_file", (dir / "train.jsonl").string()},
                           {"num_fewshot", 5}};
  for (MalformedPolicy policy : {MalformedPolicy::kError, MalformedPolicy::kSkip}) {
    TaskContext context = make_context("gsm8k.lmeval");
    context.on_malformed = policy;
    ErrorKind kind = ErrorKind::kInternal;
    const std::string error = error_of([&] { make_task("gsm8k", params)->samples(context); }, &kind);
    EXPECT_EQ(kind, ErrorKind::kInput) << error;
    if (policy == MalformedPolicy::kError)
      EXPECT_THAT(error, HasSubstr("train.jsonl:2: field 'question' must be a string"));
    else
      EXPECT_THAT(error, HasSubstr("train.jsonl: 2 usable few-shot record(s), fewer than task.params.num_fewshot (5)"));
  }
}

// Every kvbench::Error is one line: control characters in quoted input are escaped.
TEST(MalformedInputFewShot, ErrorMessagesAreOneLine) {
  Error e(ErrorKind::kInput, "f.yaml:3:1: unknown escape character: \n then \x01, \r and\ttab");
  EXPECT_EQ(std::string(e.what()), "f.yaml:3:1: unknown escape character: \\n then \\x01, \\r and\ttab");
}

// The policy comes from the run config, is validated there, and the runner records the count.
class EchoEngine : public Engine {
 public:
  nlohmann::json describe() const override { return {{"engine", "test-echo"}}; }
  const Tokenizer* tokenizer() const override { return nullptr; }
  SampleResult run(const Sample& sample, const GenerationSettings&) override {
    SampleResult r;
    r.prediction = sample.references.at(0);
    return r;
  }
};

RunConfig gsm8k_run(const std::filesystem::path& test_file, const std::filesystem::path& out,
                    const std::string& on_malformed) {
  ConfigDocument doc = parse_config_text(
      "model: {path: /nonexistent}\ntask: {name: gsm8k, params: {num_fewshot: 0}}\n", "inline");
  set_key_path(doc, "task.params.test_file", test_file.string(), "test");
  set_key_path(doc, "task.on_malformed", on_malformed, "test");
  set_key_path(doc, "output.dir", out.string(), "test");
  return resolve_run_config(doc);
}

TEST(MalformedInputRun, ConfigOptionIsValidatedAndTheCountRecorded) {
  auto dir = scratch_dir("malformed_input/run");
  std::system(("rm -rf '" + (dir / "runs").string() + "'").c_str());
  auto test_file = dir / "test.jsonl";
  const std::string good = R"({"question": "q", "answer": "a #### 1"})";
  write_file(test_file, good + "\n{broken\n" + good + "\n" + R"({"question": "q"})" + "\n");

  EXPECT_THAT(error_of([&] { gsm8k_run(test_file, dir / "runs", "ignore"); }),
              HasSubstr("task.on_malformed"));
  EXPECT_EQ(gsm8k_run(test_file, dir / "runs", "error").resolved["task"]["on_malformed"], "error");
  ConfigDocument defaults = parse_config_text("task: {name: gsm8k}\n", "inline");
  EXPECT_EQ(resolve_run_config(defaults).resolved["task"]["on_malformed"], "error");

  EchoEngine engine;
  RunOptions quiet;
  quiet.progress = false;
  RunPlan strict = plan_run(gsm8k_run(test_file, dir / "runs", "error"));
  EXPECT_THAT(error_of([&] { execute_run(strict, engine, quiet); }), HasSubstr(test_file.string() + ":2: invalid JSON"));

  RunPlan lenient = plan_run(gsm8k_run(test_file, dir / "runs", "skip"));
  EXPECT_NE(lenient.dir, strict.dir);  // the policy is part of the run identity
  RunOutcome outcome = execute_run(lenient, engine, quiet);
  EXPECT_EQ(outcome.status, "complete");
  EXPECT_EQ(outcome.metrics["n_samples"]["malformed_skipped"], 2);
  EXPECT_EQ(outcome.metrics["n_samples"]["scored"], 2);
  nlohmann::json metrics = read_json(lenient.dir / "metrics.json");
  EXPECT_EQ(metrics["n_samples"]["malformed_skipped"], 2);
  nlohmann::json run = read_json(lenient.dir / "run.json");
  EXPECT_EQ(run["malformed"]["skipped"], 2) << run.dump();
  EXPECT_EQ(run["malformed"]["by_file"][test_file.string()], 2) << run.dump();
  ASSERT_EQ(run["malformed"]["examples"].size(), 2u);
  EXPECT_THAT(run["malformed"]["examples"][0].get<std::string>(), HasSubstr(":2: invalid JSON"));
  EXPECT_THAT(run["malformed"]["examples"][1].get<std::string>(), HasSubstr(":4: missing field 'answer'"));

  // Re-running resumes (both samples recorded) and counts the skipped records again.
  RunPlan again = plan_run(gsm8k_run(test_file, dir / "runs", "skip"));
  RunOutcome resumed = execute_run(again, engine, quiet);
  EXPECT_EQ(resumed.skipped, 2u);
  EXPECT_EQ(resumed.metrics["n_samples"]["malformed_skipped"], 2);
}

}  // namespace
}  // namespace kvbench
