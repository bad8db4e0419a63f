// SPDX-License-Identifier: Apache-2.0
// Parity of needlebench.multi_retrieval with a linked port of NeedleBenchParallelEvaluator
// (scripts/reference/needlebench_reference.py). Answers use the NeedleBench v2 needles in
// ../shared/data (11 keywords at depths 0..100, English and Chinese); predictions name a random
// subset of the keywords, some re-cased or truncated, in the requested answer format. 600 samples
// scored one by one and as one task.
#include "harness/task/metric.h"
#include "metrics/needlebench_multi_retrieval.h"
#include "harness/pytext/py_regex.h"
#include "tests/unit/parity_util.h"

#include <gtest/gtest.h>

#include <set>

namespace kvbench {
namespace {

using test::Rng;

TEST(NeedleBenchParity, MatchesEvaluator) {
  std::vector<nlohmann::json> needles = test::read_jsonl(test::data_path("niah/needlebench/needles.jsonl"));
  ASSERT_GT(needles.size(), 20u);
  Rng rng(2026);
  std::vector<nlohmann::json> cases;
  std::string depths;
  for (int d = 0; d <= 100; d += 10) depths += (d ? "*" : "") + std::to_string(d);
  for (size_t i = 0; i < 600; ++i) {
    std::vector<std::string> keywords;
    for (int k = 0; k < 11; ++k) keywords.push_back(rng.pick(needles).at("arg2").get<std::string>());
    std::string answer;
    for (size_t k = 0; k < keywords.size(); ++k) answer += (k ? "*" : "") + keywords[k];
    answer += "#" + (rng.chance(5) ? std::string("0*10*10*50") : depths);
    std::string prediction;
    for (const std::string& kw : keywords) {
      if (rng.chance(35)) continue;
      std::string said = kw;
      if (rng.chance(10)) said = py_lower_utf8(said);
      if (rng.chance(10)) said = test::mutate(said, rng, 1);
      prediction += "The answer is " + said + rng.pick(std::vector<std::string>{". ", "\n", "\xE3\x80\x81", ""});
    }
    if (rng.chance(5)) prediction = "";
    cases.push_back({{"id", "nb#" + std::to_string(i)}, {"prediction", sanitize_utf8(prediction)},
                     {"answer", answer}});
  }
  const std::string dir = test::tmp_dir();
  test::write_jsonl(dir + "/needlebench_cases.jsonl", cases);
  ASSERT_TRUE(test::run_reference("needlebench_reference.py",
                                  {dir + "/needlebench_cases.jsonl", dir + "/needlebench_out.jsonl"}));
  std::vector<nlohmann::json> out = test::read_jsonl(dir + "/needlebench_out.jsonl");
  ASSERT_EQ(out.size(), cases.size() + 1);

  const auto* entry = MetricRegistry::instance().find("needlebench.multi_retrieval");
  ASSERT_NE(entry, nullptr);
  auto metric = entry->make(nlohmann::json::object());
  std::vector<std::string> predictions, answers;
  std::set<double> distinct;
  for (size_t i = 0; i < cases.size(); ++i) {
    const nlohmann::json& c = cases[i];
    Scores got = metric->score(c["prediction"], {c["answer"].get<std::string>()}, nlohmann::json::object());
    const nlohmann::json& want = out[i]["scores"];
    EXPECT_EQ(got.size(), want.size()) << c.dump();
    for (const auto& kv : want.items()) EXPECT_EQ(got.at(kv.key()), kv.value().get<double>()) << c.dump();
    distinct.insert(got.at("average_score"));
    predictions.push_back(c["prediction"]);
    answers.push_back(c["answer"]);
  }
  auto task = needlebench_scores(predictions, answers);
  const nlohmann::json& want_task = out.back()["task"];
  ASSERT_EQ(task.size(), want_task.size());
  for (size_t k = 0; k < task.size(); ++k) {
    EXPECT_EQ(task[k].first, want_task[k][0].get<std::string>());
    EXPECT_EQ(task[k].second, want_task[k][1].get<double>()) << task[k].first;
  }
  std::printf("[parity] needlebench: 600 samples, %zu distinct per-sample averages, task average %.6f\n",
              distinct.size(), task.back().second);
  EXPECT_GE(distinct.size(), 8u);
}

}  // namespace
}  // namespace kvbench
