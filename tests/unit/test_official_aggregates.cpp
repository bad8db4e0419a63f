// SPDX-License-Identifier: Apache-2.0
// metrics.json "official" (issue 19): a LongBench and a LongBench-E run through the runner, whose
// official aggregate (round(100 * mean, 2), 0..100) and LongBench-E length buckets must equal what the
// official eval.py logic (scripts/reference/longbench_reference.py, run from PyPI packages) computes on
// the same stored predictions, with a sample that ended with an error counted as an empty prediction,
// as the recorded error_policy says. A partial run has no official value.
#include "harness/config_document.h"
#include "harness/engine/engine.h"
#include "harness/run/run_config.h"
#include "harness/run/runner.h"
#include "tests/datasets/longbench_test_support.h"
#include "tests/unit/parity_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>

namespace kvbench {
namespace {

using testing::data_dir;
using testing::scratch_dir;

const Tokenizer& llama_tokenizer() {
  static const Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers/llama3-lenml_llama3_1").string());
  return tok;
}

// Answers sample i with: the gold answer (i % 4 == 0), a partial answer (1), a wrong one (2), or an
// error (3): every kind of row the aggregate must count.
class MixedEngine : public Engine {
 public:
  nlohmann::json describe() const override { return {{"engine", "test-mixed"}}; }
  const Tokenizer* tokenizer() const override { return &llama_tokenizer(); }
  SampleResult run(const Sample& sample, const GenerationSettings&) override {
    const int kind = calls_++ % 4;
    if (kind == 3) throw std::runtime_error("out of memory (test)");
    SampleResult r;
    const std::string& gold = sample.references.at(0);
    r.prediction = kind == 0 ? gold : kind == 1 ? gold + " and other words entirely" : "nothing relevant";
    return r;
  }

 private:
  int calls_ = 0;
};

// 12 qasper-shaped records with lengths in all three LongBench-E buckets.
std::vector<nlohmann::json> records() {
  const std::vector<nlohmann::json> base = testing::synthetic_records("qasper");
  const std::vector<std::string> answers = {"Lima", "the capital of Peru", "two thousand", "yes",
                                            "a small red house", "unanswerable"};
  std::vector<nlohmann::json> out;
  for (int i = 0; i < 12; ++i) {
    nlohmann::json r = base[0];
    r["_id"] = "agg-" + std::to_string(i);
    r["answers"] = {answers[i % answers.size()]};
    r["length"] = 1500 + 1700 * i;  // 1500 .. 20200 words
    out.push_back(r);
  }
  return out;
}

nlohmann::json run_task(const std::string& task, const std::filesystem::path& data, const std::filesystem::path& out,
                        std::vector<nlohmann::json>* rows) {
  ConfigDocument doc = parse_config_text(
      "model: {path: /nonexistent/model}\nmethod: {name: full}\ntask: {name: " + task + "}\n", "inline");
  set_key_path(doc, "task.params", {{"data_file", data.string()}, {"config_dir", (data_dir() / "longbench/config").string()},
                                    {"max_length", 1500}}, "test");
  set_key_path(doc, "output.dir", out.string(), "test");
  RunPlan plan = plan_run(resolve_run_config(doc));
  RunOptions options;
  options.progress = false;
  MixedEngine engine;
  RunOutcome outcome = execute_run(plan, engine, options);
  std::ifstream in(outcome.dir / "samples.jsonl");
  for (std::string line; std::getline(in, line);) rows->push_back(nlohmann::json::parse(line));
  return testing::read_json(outcome.dir / "metrics.json");
}

TEST(OfficialAggregates, LongBenchAndLongBenchEEqualTheOfficialEvalOnTheStoredPredictions) {
  const auto dir = scratch_dir("official_aggregates");
  ASSERT_EQ(std::system(("rm -rf '" + (dir / "runs").string() + "'").c_str()), 0);
  testing::write_jsonl(dir / "qasper.jsonl", records());
  for (const std::string task : {"longbench.qasper", "longbench_e.qasper"}) {
    std::vector<nlohmann::json> rows;
    const nlohmann::json metrics = run_task(task, dir / "qasper.jsonl", dir / "runs", &rows);
    ASSERT_EQ(rows.size(), 12u);
    // The official side: eval.py on the stored predictions, errors as empty predictions.
    std::vector<nlohmann::json> cases;
    nlohmann::json ids = nlohmann::json::array(), lengths = nlohmann::json::array();
    int errors = 0;
    for (const auto& row : rows) {
      const bool failed = !row["error"].is_null();
      errors += failed ? 1 : 0;
      cases.push_back({{"id", row["id"]}, {"metric", "longbench.qa_f1"},
                       {"prediction", failed ? "" : row["prediction"].get<std::string>()},
                       {"references", row["references"]}, {"dataset", "qasper"}});
      ids.push_back(row["id"]);
      lengths.push_back(row["metadata"]["length"]);
    }
    EXPECT_EQ(errors, 3);
    const std::string base = test::tmp_dir() + "/official_" + task;
    test::write_jsonl(base + "_cases.jsonl", cases);
    test::write_jsonl(base + "_groups.jsonl", {{{"group", task}, {"ids", ids}, {"lengths", lengths}}});
    ASSERT_TRUE(test::run_reference("longbench_reference.py",
                                    {base + "_cases.jsonl", base + "_groups.jsonl", base + "_out.jsonl"}));
    const nlohmann::json reference = test::read_jsonl(base + "_out.jsonl").back();

    const nlohmann::json& official = metrics["official"]["longbench.qa_f1"];
    std::printf("[official] %s: %s (reference %s)\n", task.c_str(), official.dump().c_str(), reference.dump().c_str());
    EXPECT_EQ(official["value"].get<double>(), reference["score"].get<double>()) << task;
    EXPECT_EQ(official["n"], 12);
    EXPECT_EQ(official["errors"], 3);
    EXPECT_NE(official["error_policy"].get<std::string>().find("empty prediction"), std::string::npos);
    EXPECT_NE(official["scale"].get<std::string>().find("0..100"), std::string::npos);
    // The plain mean (0..1, errors excluded) stays next to it and differs.
    EXPECT_EQ(metrics["scores"]["qa_f1_score"]["n"], 9);
    if (task == "longbench_e.qasper") {
      for (const auto& [bucket, want] : reference["e"].items()) {
        ASSERT_TRUE(official["parts"].contains(bucket)) << official.dump();
        if (want.is_null()) EXPECT_TRUE(official["parts"][bucket].is_null()) << bucket;
        else EXPECT_EQ(official["parts"][bucket].get<double>(), want.get<double>()) << bucket;
      }
    } else {
      EXPECT_TRUE(official["parts"].empty()) << official.dump();
    }
  }
}

TEST(OfficialAggregates, APartialRunHasNoOfficialValue) {
  std::vector<std::unique_ptr<Metric>> metrics;
  metrics.push_back(MetricRegistry::instance().find("ruler.string_match_all")->make({{"postprocess", true}}));
  std::vector<Sample> samples(2);
  samples[0].id = "a";
  samples[0].references = {"x"};
  samples[1].id = "b";
  samples[1].references = {"y"};
  std::map<std::string, nlohmann::json> rows = {
      {"a", {{"id", "a"}, {"prediction", "x"}, {"scores", {{"string_match_all", 100.0}}}, {"error", nullptr}}}};
  nlohmann::json out = official_aggregates({"ruler.string_match_all"}, metrics, samples, rows);
  EXPECT_TRUE(out["ruler.string_match_all"]["value"].is_null()) << out.dump();
  EXPECT_EQ(out["ruler.string_match_all"]["missing"], 1);
  rows["b"] = {{"id", "b"}, {"error", "boom"}};
  out = official_aggregates({"ruler.string_match_all"}, metrics, samples, rows);
  // RULER: round(sum / n, 2) over both samples, the error row scoring 0: 50.
  EXPECT_EQ(out["ruler.string_match_all"]["value"].get<double>(), 50.0) << out.dump();
}

}  // namespace
}  // namespace kvbench
