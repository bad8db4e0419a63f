// SPDX-License-Identifier: Apache-2.0
// LongBench / LongBench-E tasks: registration (21 + 13 names, protocol, metric per dataset as in
// eval.py's dataset2metric, configs), samples of the real files (metadata, references,
// max_new_tokens, chat policy, LongBench-E buckets), the prompt templates against MiniLongBench's
// OpenCompass-rendered prompts, and every malformed-input error (file:line + field).
#include "datasets/longbench_prompt.h"
#include "harness/engine/engine.h"
#include "harness/hashing.h"
#include "harness/run/run_config.h"
#include "harness/run/runner.h"
#include "metrics/longbench_scorer.h"
#include "tests/datasets/longbench_test_support.h"

#include <gmock/gmock.h>

#include <fstream>
#include <set>

namespace kvbench {
namespace {

using namespace kvbench::testing;
using ::testing::HasSubstr;

std::vector<Sample> samples_of(const std::string& task_name, nlohmann::json params,
                               const Tokenizer* tok = nullptr,
                               const std::filesystem::path& root = data_dir(),
                               TaskContext* context_out = nullptr,
                               MalformedPolicy on_malformed = MalformedPolicy::kError) {
  nlohmann::json resolved;
  auto task = make_task(task_name, params, &resolved);
  auto context = make_context("longbench.official", resolved);
  context.data_root = root;
  context.tokenizer = tok;
  context.on_malformed = on_malformed;
  if (context_out != nullptr) *context_out = context;  // shares the malformed log
  return task->samples(context);
}

const Tokenizer& llama_tokenizer() {
  static const Tokenizer tok =
      Tokenizer::load((data_dir() / "tokenizers/llama3-lenml_llama3_1").string());
  return tok;
}

TEST(LongBench, RegistersEveryDatasetWithItsMetricProtocolAndConfig) {
  std::set<std::string> registered;
  for (const auto& name : TaskRegistry::instance().names())
    if (name.rfind("longbench.", 0) == 0 || name.rfind("longbench_e.", 0) == 0) registered.insert(name);
  const auto& names = longbench_task_names();
  EXPECT_EQ(registered, std::set<std::string>(names.begin(), names.end()));
  EXPECT_EQ(names.size(), 34u);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const auto* entry = TaskRegistry::instance().find(name);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->extra.at("protocols"), nlohmann::json({"longbench.official"}));
    const std::string dataset = name.substr(name.find('.') + 1);
    auto task = make_task(name, nlohmann::json::object());
    TaskContext context;
    EXPECT_EQ(task->metrics(context), std::vector<std::string>{longbench_metric_for_dataset(dataset)});
    expect_valid_task_config(name);
  }
  // eval.py dataset2metric, spelled out.
  auto task = [](const std::string& n) { return make_task(n, nlohmann::json::object())->metrics({}).at(0); };
  EXPECT_EQ(task("longbench.narrativeqa"), "longbench.qa_f1");
  EXPECT_EQ(task("longbench.multifieldqa_zh"), "longbench.qa_f1_zh");
  EXPECT_EQ(task("longbench.dureader"), "longbench.rouge_zh");
  EXPECT_EQ(task("longbench.vcsum"), "longbench.rouge_zh");
  EXPECT_EQ(task("longbench.gov_report"), "longbench.rouge");
  EXPECT_EQ(task("longbench.samsum"), "longbench.rouge");
  EXPECT_EQ(task("longbench.trec"), "longbench.classification");
  EXPECT_EQ(task("longbench.lsht"), "longbench.classification");
  EXPECT_EQ(task("longbench.triviaqa"), "longbench.qa_f1");
  EXPECT_EQ(task("longbench.passage_retrieval_en"), "longbench.retrieval");
  EXPECT_EQ(task("longbench.passage_retrieval_zh"), "longbench.retrieval_zh");
  EXPECT_EQ(task("longbench.passage_count"), "longbench.count");
  EXPECT_EQ(task("longbench.lcc"), "longbench.code_sim");
  EXPECT_EQ(task("longbench_e.repobench-p"), "longbench.code_sim");
}

TEST(LongBench, ConfigFilesAreTheOfficialOnes) {
  // sha256 from ../shared/data/PROVENANCE.md (THUDM/LongBench 2e00731, LongBench/config/).
  EXPECT_EQ(sha256_file_hex(data_dir() / "longbench/config/dataset2prompt.json"),
            "56d22ad4f382169c2b8a11ff4c982a4a1bea096c8152b0f0b85b64686b157c30");
  EXPECT_EQ(sha256_file_hex(data_dir() / "longbench/config/dataset2maxlen.json"),
            "72966b3c0933e214591637fb085798c5e687ebff4ddaab5d99bbc31120532022");
  const auto config = LongBenchConfig::load(data_dir() / "longbench/config");
  for (const auto& ds : longbench_datasets()) {
    EXPECT_NO_THROW(config.prompt_template(ds)) << ds;
    EXPECT_GT(config.max_new_tokens(ds), 0) << ds;
  }
  EXPECT_EQ(config.max_new_tokens("gov_report"), 512);
  EXPECT_EQ(config.max_new_tokens("hotpotqa"), 32);
}

TEST(LongBench, RealFileSamplesCarryTheOfficialFields) {
  const auto& tok = llama_tokenizer();
  auto samples = samples_of("longbench.multifieldqa_zh", {{"max_length", 3500}}, &tok);
  ASSERT_EQ(samples.size(), 200u);
  auto raw = read_jsonl(data_dir() / "longbench/data/multifieldqa_zh.jsonl.gz");
  size_t truncated = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    const auto& r = raw.records[i].value;
    EXPECT_EQ(s.id, r["_id"].get<std::string>());
    EXPECT_EQ(s.references, r["answers"].get<std::vector<std::string>>());
    EXPECT_EQ(s.max_new_tokens, 64);
    EXPECT_TRUE(s.use_chat_template);
    ASSERT_EQ(s.messages.size(), 1u);
    EXPECT_EQ(s.messages[0].role, "user");
    EXPECT_EQ(s.metadata["dataset"], "multifieldqa_zh");
    EXPECT_EQ(s.metadata["all_classes"], r["all_classes"]);
    EXPECT_EQ(s.metadata["length"].get<double>(), r["length"].get<double>());
    EXPECT_EQ(s.metadata["language"], "zh");
    EXPECT_EQ(s.metadata["_id"], r["_id"]);
    EXPECT_FALSE(s.metadata.contains("bucket"));
    EXPECT_TRUE(s.metadata["official_config"].get<bool>());
    EXPECT_EQ(s.metadata["prompt_tokens"].get<int64_t>() > 3500, s.metadata["truncated"].get<bool>());
    if (s.metadata["truncated"].get<bool>()) {
      ++truncated;
      // pred.py keeps int(3500 / 2) tokens from each end; re-encoding may merge at the seam.
      auto ids = tok.encode(s.messages[0].content, true);
      EXPECT_NEAR(static_cast<double>(ids.size()), 3501.0, 8.0) << s.id;
    }
  }
  EXPECT_GT(truncated, 100u);
  // Without truncation the prompt is the template with the record's fields, unchanged.
  auto untruncated = samples_of("longbench.passage_retrieval_zh", {{"max_length", 0}});
  const auto first = read_jsonl(data_dir() / "longbench/data/passage_retrieval_zh.jsonl.gz");
  const auto& r0 = first.records[0].value;
  EXPECT_THAT(untruncated[0].messages[0].content, HasSubstr(r0["context"].get<std::string>()));
  EXPECT_EQ(untruncated[0].metadata["prompt_tokens"].get<int64_t>(), -1);
  EXPECT_EQ(untruncated[0].max_new_tokens, 32);
  // chat_template: none gives raw prompts for every dataset.
  auto none = samples_of("longbench.multi_news", {{"max_length", 0}, {"chat_template", "none"}});
  EXPECT_FALSE(none[0].use_chat_template);
  EXPECT_THAT(none[0].raw_prompt, ::testing::StartsWith("You are given several news passages."));
  EXPECT_EQ(none[0].max_new_tokens, 512);
}

TEST(LongBench, ChatPolicyStopIdsAndLongBenchEBuckets) {
  const auto root = scratch_dir("longbench_policy");
  const auto& tok = llama_tokenizer();
  for (const auto& ds : longbench_datasets()) {
    write_jsonl(root / "longbench/data" / (ds + ".jsonl"), synthetic_records(ds));
    auto samples = samples_of("longbench." + ds, {{"max_length", 1500}, {"config_dir",
                              (data_dir() / "longbench/config").string()}}, &tok, root);
    ASSERT_EQ(samples.size(), 2u);
    const bool no_chat = ds == "trec" || ds == "triviaqa" || ds == "samsum" || ds == "lsht" ||
                         ds == "lcc" || ds == "repobench-p";
    EXPECT_EQ(samples[0].use_chat_template, !no_chat) << ds;
    EXPECT_EQ(samples[0].raw_prompt.empty(), !no_chat) << ds;
    EXPECT_TRUE(samples[1].metadata["truncated"].get<bool>()) << ds;
    EXPECT_FALSE(samples[0].metadata["truncated"].get<bool>()) << ds;
    EXPECT_EQ(samples[0].stop_token_ids,
              ds == "samsum" ? std::vector<int64_t>{198} : std::vector<int64_t>{}) << ds;  // "\n"
  }
  // LongBench-E: <dataset>_e.jsonl.gz found by the default path; buckets on `length`.
  std::vector<nlohmann::json> rows = synthetic_records("hotpotqa");
  for (double length : {0.0, 3999.0, 4000.0, 7999.5, 8000.0, 20000.0}) {
    nlohmann::json row = rows[0];
    row["_id"] = "len" + std::to_string(static_cast<int>(length * 10));
    row["length"] = length;
    rows.push_back(row);
  }
  write_jsonl(root / "longbench/data/hotpotqa_e.jsonl", rows);
  auto samples = samples_of("longbench_e.hotpotqa", {{"max_length", 0}, {"config_dir",
                            (data_dir() / "longbench/config").string()}}, nullptr, root);
  ASSERT_EQ(samples.size(), 8u);
  const std::vector<std::string> want = {"0-4k", "8k+", "0-4k", "0-4k", "4-8k", "4-8k", "8k+", "8k+"};
  for (size_t i = 0; i < samples.size(); ++i) EXPECT_EQ(samples[i].metadata["bucket"], want[i]) << i;
  EXPECT_EQ(longbench_e_bucket(3999.999), "0-4k");
}

// MiniLongBench (237 real samples of all 21 datasets rendered by OpenCompass): each prompt has
// the shape of the official template, except three documented OpenCompass edits.
TEST(LongBench, TemplatesReproduceMiniLongBenchPrompts) {
  const auto config = LongBenchConfig::load(data_dir() / "longbench/config");
  auto matches = [](const std::string& format, const std::string& text) {
    // format = p0 {context} p1 [{input} p2]: text starts with p0, ends with the last piece, and
    // holds the middle piece in between.
    std::vector<std::string> pieces;
    size_t start = 0;
    while (true) {
      size_t open = format.find('{', start);
      if (open == std::string::npos) break;
      pieces.push_back(format.substr(start, open - start));
      start = format.find('}', open) + 1;
    }
    pieces.push_back(format.substr(start));
    if (text.size() < pieces.front().size() + pieces.back().size()) return false;
    if (text.compare(0, pieces.front().size(), pieces.front()) != 0) return false;
    if (text.compare(text.size() - pieces.back().size(), pieces.back().size(), pieces.back()) != 0)
      return false;
    size_t at = pieces.front().size();
    for (size_t i = 1; i + 1 < pieces.size(); ++i) {
      at = text.find(pieces[i], at);
      if (at == std::string::npos || at + pieces[i].size() > text.size() - pieces.back().size()) return false;
      at += pieces[i].size();
    }
    return true;
  };
  auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
    return s;
  };
  size_t checked = 0;
  for (const auto& ds : longbench_datasets()) {
    SCOPED_TRACE(ds);
    const auto file = nlohmann::json::parse(
        read_text_file(data_dir() / "longbench/minilongbench" / ("MiniLongBench_" + ds + ".json.gz")));
    std::string official = config.prompt_template(ds);
    std::string opencompass = official;
    if (ds == "narrativeqa") opencompass = replace_all(official, "asconcisely", "as concisely");
    if (ds == "qasper") opencompass = config.prompt_template("hotpotqa");  // OpenCompass reuses it
    if (ds == "multi_news") opencompass = official + "\n";                // "Summary:\n"
    for (const auto& [key, entry] : file.items()) {
      const std::string prompt = entry.at("origin_prompt").get<std::string>();
      EXPECT_TRUE(matches(opencompass, prompt)) << key;
      EXPECT_EQ(matches(official, prompt), opencompass == official) << key;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 237u);
  // The 3 real files: the task's own prompts (no truncation) equal OpenCompass's byte for byte.
  for (const std::string ds : {"multi_news", "multifieldqa_zh", "passage_retrieval_zh"}) {
    std::set<std::string> prompts;
    for (const auto& s : samples_of("longbench." + ds, {{"max_length", 0}}))
      prompts.insert(s.messages.at(0).content + (ds == "multi_news" ? "\n" : ""));
    const auto file = nlohmann::json::parse(
        read_text_file(data_dir() / "longbench/minilongbench" / ("MiniLongBench_" + ds + ".json.gz")));
    for (const auto& [key, entry] : file.items())
      EXPECT_TRUE(prompts.count(entry.at("origin_prompt").get<std::string>())) << ds << " " << key;
  }
}

TEST(LongBench, MalformedInputNamesFileLineAndField) {
  const auto dir = scratch_dir("longbench_malformed");
  const auto good = synthetic_records("hotpotqa")[0];
  auto error_for = [&](const std::string& name, const std::vector<std::string>& lines,
                       nlohmann::json extra = nlohmann::json::object()) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    write_file(dir / name, text);
    extra["data_file"] = (dir / name).string();
    extra["max_length"] = 0;
    ErrorKind kind = ErrorKind::kUsage;
    std::string message = error_of([&] { samples_of("longbench.hotpotqa", extra); }, &kind);
    EXPECT_EQ(kind, ErrorKind::kInput) << message;
    return message;
  };
  auto with = [&](const std::string& field, const nlohmann::json& value) {
    nlohmann::json r = good;
    r["_id"] = "other";
    if (value.is_discarded())
      r.erase(field);
    else
      r[field] = value;
    return r.dump();
  };
  const nlohmann::json drop = nlohmann::json(nlohmann::json::value_t::discarded);
  const std::string ok = good.dump();
  const std::string path = (dir / "bad.jsonl").string();

  EXPECT_THAT(error_for("bad.jsonl", {ok, "{\"input\": \"x\","}), HasSubstr(path + ":2: invalid JSON"));
  EXPECT_THAT(error_for("bad.jsonl", {"[1, 2]"}), HasSubstr(path + ":1: expected a JSON object"));
  for (const std::string field : {"input", "context", "answers", "length", "all_classes", "_id"})
    EXPECT_THAT(error_for("bad.jsonl", {ok, with(field, drop)}),
                HasSubstr(path + ":2: missing field '" + field + "'"));
  EXPECT_THAT(error_for("bad.jsonl", {with("input", 7)}), HasSubstr(":1: field 'input' must be a string"));
  EXPECT_THAT(error_for("bad.jsonl", {with("context", nullptr)}), HasSubstr(":1: field 'context' must be a string"));
  EXPECT_THAT(error_for("bad.jsonl", {with("answers", "Lima")}),
              HasSubstr(":1: field 'answers' must be a list of strings"));
  EXPECT_THAT(error_for("bad.jsonl", {with("answers", nlohmann::json::array({1}))}), HasSubstr(":1: field 'answers' element 0"));
  EXPECT_THAT(error_for("bad.jsonl", {with("length", "9000")}), HasSubstr(":1: field 'length' must be a number"));
  EXPECT_THAT(error_for("bad.jsonl", {with("all_classes", "City")}),
              HasSubstr(":1: field 'all_classes' must be a list of strings"));
  EXPECT_THAT(error_for("bad.jsonl", {with("_id", 3)}), HasSubstr(":1: field '_id' must be a string"));
  EXPECT_THAT(error_for("bad.jsonl", {with("language", 1)}), HasSubstr(":1: field 'language' must be a string"));
  EXPECT_THAT(error_for("bad.jsonl", {ok, ok}), HasSubstr(":2: field '_id' repeats"));
  EXPECT_THAT(error_for("bad.jsonl", {""}), HasSubstr(path + ": no records"));

  // task.on_malformed: skip: bad lines and bad records are skipped and counted, the rest kept.
  write_file(dir / "mixed.jsonl", ok + "\n{oops\n" + with("answers", "x") + "\n");
  TaskContext skip_context;
  auto kept = samples_of("longbench.hotpotqa", {{"data_file", (dir / "mixed.jsonl").string()}, {"max_length", 0}},
                         nullptr, data_dir(), &skip_context, MalformedPolicy::kSkip);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].id, good["_id"]);
  EXPECT_EQ(skip_context.malformed->skipped(), 2);

  // Missing data file: both expected paths and how to get them.
  const auto empty_root = scratch_dir("longbench_empty_root");
  std::string missing = error_of([&] {
    samples_of("longbench.narrativeqa", {{"max_length", 0}, {"config_dir", (data_dir() / "longbench/config").string()}},
               nullptr, empty_root);
  });
  EXPECT_THAT(missing, HasSubstr((empty_root / "longbench/data/narrativeqa.jsonl").string()));
  EXPECT_THAT(missing, HasSubstr("narrativeqa.jsonl.gz"));
  EXPECT_THAT(missing, HasSubstr("kvbench data fetch"));
  missing = error_of([&] {
    make_task("longbench_e.lcc", nlohmann::json::object())->dataset_sha256(make_context("longbench.official"));
  });
  EXPECT_THAT(missing, HasSubstr("longbench/data/lcc_e.jsonl"));
  // Missing / bad config, template field absent from the record.
  EXPECT_THAT(error_of([&] { samples_of("longbench.hotpotqa", {{"config_dir", dir.string()}, {"max_length", 0}}); }),
              HasSubstr((dir / "dataset2prompt.json").string()));
  const auto custom = dir / "custom_config";
  write_file(custom / "dataset2prompt.json", R"({"hotpotqa": "{context} {question}"})");
  write_file(custom / "dataset2maxlen.json", R"({"hotpotqa": 32})");
  write_file(dir / "one.jsonl", ok + "\n");
  EXPECT_THAT(error_of([&] {
                samples_of("longbench.hotpotqa", {{"config_dir", custom.string()}, {"max_length", 0},
                                                  {"data_file", (dir / "one.jsonl").string()}});
              }),
              HasSubstr((dir / "one.jsonl").string() + ":1: missing field 'question'"));
  write_file(custom / "dataset2prompt.json", R"({"hotpotqa": "{context} {input}"})");
  write_file(custom / "dataset2maxlen.json", R"({"hotpotqa": "32"})");
  EXPECT_THAT(error_of([&] { samples_of("longbench.hotpotqa", {{"config_dir", custom.string()}}); }),
              HasSubstr("dataset2maxlen.json: field 'hotpotqa' must be a positive integer"));
  write_file(custom / "dataset2maxlen.json", R"({"hotpotqa": 32})");
  auto custom_samples = samples_of("longbench.hotpotqa", {{"config_dir", custom.string()}, {"max_length", 0},
                                                         {"data_file", (dir / "one.jsonl").string()}});
  EXPECT_FALSE(custom_samples[0].metadata["official_config"].get<bool>());
  EXPECT_EQ(custom_samples[0].messages[0].content,
            good["context"].get<std::string>() + " " + good["input"].get<std::string>());
  // Truncation needs the evaluated model's tokenizer.
  ErrorKind kind = ErrorKind::kInput;
  EXPECT_THAT(error_of([&] { samples_of("longbench.hotpotqa", {{"data_file", (dir / "one.jsonl").string()}}); }, &kind),
              HasSubstr("tokenizer"));
  EXPECT_EQ(kind, ErrorKind::kConfig);
}

// Through the runner with an engine that answers the first reference: per-sample settings
// (dataset2maxlen, samsum's newline stop id merged into GenerationSettings), the dataset's metric,
// and LongBench-E length buckets in metrics.json.
class EchoEngine : public Engine {
 public:
  nlohmann::json describe() const override { return {{"engine", "test-echo"}}; }
  const Tokenizer* tokenizer() const override { return &llama_tokenizer(); }
  SampleResult run(const Sample& sample, const GenerationSettings& generation) override {
    settings.push_back(generation);
    SampleResult r;
    r.prediction = "\n" + sample.references.at(0) + "\nsecond line";
    return r;
  }
  std::vector<GenerationSettings> settings;
};

std::vector<nlohmann::json> run_rows(const std::string& task, const nlohmann::json& params,
                                     const std::filesystem::path& out, EchoEngine& engine,
                                     nlohmann::json* metrics = nullptr) {
  ConfigDocument doc = parse_config_text(
      "model: {path: /nonexistent/model}\nmethod: {name: full}\ntask: {name: " + task + "}\n", "inline");
  set_key_path(doc, "task.params", params, "test");
  set_key_path(doc, "output.dir", out.string(), "test");
  RunPlan plan = plan_run(resolve_run_config(doc));
  RunOptions options;
  options.progress = false;
  RunOutcome outcome = execute_run(plan, engine, options);
  EXPECT_EQ(outcome.status, "complete");
  std::vector<nlohmann::json> rows;
  std::ifstream in(outcome.dir / "samples.jsonl");
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  if (metrics != nullptr) *metrics = read_json(outcome.dir / "metrics.json");
  return rows;
}

TEST(LongBench, RunsThroughTheRunnerWithStopIdsMetricAndBuckets) {
  const auto dir = scratch_dir("longbench_runner");
  // Fresh run directories (a second run would resume). Not std::filesystem::remove_all: the copy
  // libtorch.so exports crashes in binaries linking it (see test_resume.cpp).
  ASSERT_EQ(std::system(("rm -rf '" + (dir / "runs").string() + "'").c_str()), 0);
  const std::string config_dir = (data_dir() / "longbench/config").string();
  write_jsonl(dir / "samsum.jsonl", synthetic_records("samsum"));
  EchoEngine engine;
  auto rows = run_rows("longbench.samsum", {{"data_file", (dir / "samsum.jsonl").string()},
                                            {"config_dir", config_dir}, {"max_length", 1500}},
                       dir / "runs", engine);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(engine.settings.size(), 2u);
  EXPECT_EQ(engine.settings[0].max_new_tokens, 128);
  EXPECT_EQ(engine.settings[0].stop_token_ids, std::vector<int64_t>{198});
  // eval.py cuts samsum predictions to their first non-empty line: "Lima" vs "Lima" scores 1.
  for (const auto& row : rows) EXPECT_NEAR(row["scores"].begin()->get<double>(), 1.0, 1e-6) << row.dump();

  EchoEngine e_engine;
  nlohmann::json metrics;
  std::vector<nlohmann::json> e_rows = synthetic_records("qasper");
  write_jsonl(dir / "qasper_e.jsonl", e_rows);
  rows = run_rows("longbench_e.qasper", {{"data_file", (dir / "qasper_e.jsonl").string()},
                                         {"config_dir", config_dir}, {"max_length", 1500}},
                  dir / "runs", e_engine, &metrics);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(e_engine.settings[0].stop_token_ids.empty());
  EXPECT_EQ(e_engine.settings[0].max_new_tokens, 128);
  EXPECT_TRUE(metrics["buckets"].contains("0-4k")) << metrics.dump();
  EXPECT_TRUE(metrics["buckets"].contains("8k+")) << metrics.dump();
  // qasper has no first-line cut: "\nLima\nsecond line" vs "Lima" is token F1 (P 1/3, R 1) = 0.5.
  EXPECT_NEAR(rows[0]["scores"].begin()->get<double>(), 0.5, 1e-12) << rows[0].dump();
}

TEST(LongBench, FormatIsPythonStrFormat) {
  const nlohmann::json record = {{"context", "a{b}c"}, {"input", "Q"}, {"n", 3}};
  EXPECT_EQ(longbench_format("{context}|{input}", record, "w"), "a{b}c|Q");
  EXPECT_EQ(longbench_format("{{x}} {input}}}", record, "w"), "{x} Q}");
  EXPECT_THAT(error_of([&] { longbench_format("{n}", record, "w"); }), HasSubstr("w: field 'n' must be a string"));
  EXPECT_THAT(error_of([&] { longbench_format("{input:>5}", record, "w"); }), HasSubstr("unsupported"));
  EXPECT_THAT(error_of([&] { longbench_format("x } y", record, "w"); }), HasSubstr("single '}'"));
  EXPECT_THAT(error_of([&] { longbench_format("x { y", record, "w"); }), HasSubstr("unclosed '{'"));
}

}  // namespace
}  // namespace kvbench
