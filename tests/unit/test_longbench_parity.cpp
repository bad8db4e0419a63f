// SPDX-License-Identifier: Apache-2.0
// Parity of the LongBench scorers with the official code (scripts/reference/longbench_reference.py:
// lm-eval's port of LongBench/metrics.py + rouge + jieba + fuzzywuzzy from PyPI, official eval.py
// logic). Cases: the MiniLongBench model predictions and the LongBench data in ../shared/data, their
// deterministic perturbations, and edge cases; at least 520 per metric. Also the dataset score and
// LongBench-E buckets over groups of those samples.
#include "metrics/longbench_scorer.h"
#include "harness/pytext/py_regex.h"
#include "tests/unit/parity_util.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>

namespace kvbench {
namespace {

using test::Rng;

struct Source {
  std::string dataset;
  std::vector<std::string> answers;
  std::vector<std::string> all_classes;
  std::string prediction;  // a real model prediction ("" when none)
  std::string context;
  double length = 0;
};

std::vector<Source> load_mini(const std::string& dataset) {
  std::vector<Source> out;
  nlohmann::json data = nlohmann::json::parse(
      test::read_gz(test::data_path("longbench/minilongbench/MiniLongBench_" + dataset + ".json.gz")));
  for (const auto& kv : data.items()) {
    const nlohmann::json& row = kv.value();
    Source s;
    s.dataset = dataset;
    s.prediction = row.at("prediction").get<std::string>();
    s.context = row.at("origin_prompt").get<std::string>();
    const nlohmann::json& gold = row.at("gold");
    if (gold.is_object()) {
      s.answers = gold.at("answers").get<std::vector<std::string>>();
      s.all_classes = gold.at("all_classes").get<std::vector<std::string>>();
    } else {
      s.answers = gold.get<std::vector<std::string>>();
    }
    s.length = static_cast<double>(s.context.size());
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Source> load_full(const std::string& dataset) {
  std::vector<Source> out;
  for (const auto& row :
       test::read_jsonl_text(test::read_gz(test::data_path("longbench/data/" + dataset + ".jsonl.gz")))) {
    Source s;
    s.dataset = dataset;
    s.answers = row.at("answers").get<std::vector<std::string>>();
    s.context = row.at("context").get<std::string>();
    s.length = row.at("length").get<double>();
    out.push_back(std::move(s));
  }
  return out;
}

std::string first_line(const std::string& text) { return longbench_prepare_prediction("trec", text); }

const std::vector<std::string>& edge_predictions() {
  static const std::vector<std::string> edges = {
      "", " ", "\n", "\n\n\n", "\t \t", ".", "...", ". . .", " . ", "a", "the", "A an THE",
      "\xE3\x80\x80", "\xC2\xA0\xC2\xA0", "\xCE\xA3\xCE\x91\xCE\xA3 \xCE\xA3", "\xC4\xB0stanbul",
      "\xEF\xBC\x91\xEF\xBC\x92", "Paragraph \xEF\xBC\x93", "\xD9\xA3\xD9\xA4", "1,000 and 2,000",
      "\xE4\xB8\xAD\xE6\x96\x87\xE3\x80\x82", "# comment only", "```", "//", "\n\nx = 1\n",
      "\r\n", "\x1F\x1E", "\xF0\x9F\x98\x80\xF0\x9F\x98\x80", "word.word.word", "  many   spaces  "};
  return edges;
}

// One prediction for `source`, drawn from ten kinds of variants.
std::string make_prediction(const Source& s, Rng& rng, const std::string& metric) {
  const std::string& answer = s.answers.empty() ? std::string() : rng.pick(s.answers);
  switch (rng.below(11)) {
    case 0: return s.prediction.empty() ? answer : s.prediction;
    case 1: return first_line(s.prediction.empty() ? answer : s.prediction);
    case 2: return answer;
    case 3: return test::mutate(answer, rng, 1 + static_cast<int>(rng.below(4)));
    case 4:
      return metric == "longbench.qa_f1_zh" || metric == "longbench.rouge_zh"
                 ? test::char_window(s.context, rng, 2, 80)
                 : test::word_window(s.context, rng, 1, 40);
    case 5: return answer + (rng.chance(50) ? "\n" : " ") + test::word_window(s.context, rng, 1, 15);
    case 6: return test::mutate(test::char_window(s.prediction.empty() ? s.context : s.prediction,
                                                  rng, 1, 120), rng, 2);
    case 7: return rng.pick(edge_predictions());
    case 8: {
      std::vector<std::string> words = test::split_spaces(answer);
      std::string out;
      for (size_t i = 0; i < words.size(); ++i) out += rng.pick(words) + " ";
      return out + test::word_window(s.context, rng, 0, 5);
    }
    case 9:
      if (!s.all_classes.empty()) {
        std::string out = rng.pick(s.all_classes);
        for (int k = 0; k < 3; ++k)
          if (rng.chance(50)) out += (rng.chance(50) ? ", " : "\n") + rng.pick(s.all_classes);
        return out;
      }
      return "\n\n" + answer + "\n" + test::word_window(s.context, rng, 0, 8);
    default: {
      // Numbers near the gold (retrieval / count) or code-like lines.
      std::string out;
      int count = 1 + static_cast<int>(rng.below(4));
      for (int k = 0; k < count; ++k) {
        out += rng.pick(std::vector<std::string>{"Paragraph ", "\xE6\xAE\xB5\xE8\x90\xBD", "", "# ",
                                                 "// ", "The answer is ", "\n"});
        out += std::to_string(rng.below(40)) + (rng.chance(30) ? "\n" : " ");
      }
      return rng.chance(50) ? out : out + answer;
    }
  }
}

std::vector<std::string> sanitized(std::vector<std::string> v) {
  for (auto& x : v) x = sanitize_utf8(x);
  return v;
}

struct MetricPlan {
  std::string metric;
  std::vector<Source> sources;
};

TEST(LongBenchParity, PerSampleAndAggregatesMatchOfficialCode) {
  std::map<std::string, LongBenchPairFn> functions = {
      {"longbench.qa_f1", &longbench_qa_f1_score},
      {"longbench.qa_f1_zh", &longbench_qa_f1_zh_score},
      {"longbench.rouge", &longbench_rouge_score},
      {"longbench.rouge_zh", &longbench_rouge_zh_score},
      {"longbench.classification", &longbench_classification_score},
      {"longbench.retrieval", &longbench_retrieval_score},
      {"longbench.retrieval_zh", &longbench_retrieval_zh_score},
      {"longbench.count", &longbench_count_score},
      {"longbench.code_sim", &longbench_code_sim_score}};
  auto mini = [](std::initializer_list<const char*> names) {
    std::vector<Source> out;
    for (const char* n : names) {
      auto v = load_mini(n);
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  };
  std::vector<Source> zh_qa = load_full("multifieldqa_zh");
  zh_qa.resize(120);
  for (auto& s : mini({"multifieldqa_zh"})) zh_qa.push_back(s);
  std::vector<Source> news = load_full("multi_news");
  news.resize(60);
  for (auto& s : mini({"gov_report", "qmsum", "multi_news", "samsum"})) news.push_back(s);
  std::vector<Source> zh_sum = mini({"dureader", "vcsum"});
  for (auto& s : load_full("multifieldqa_zh")) {
    if (zh_sum.size() >= 60) break;
    s.answers = {s.answers[0] + s.context.substr(0, 300)};  // a longer Chinese reference
    s.dataset = "dureader";
    zh_sum.push_back(s);
  }
  std::vector<Source> zh_retrieval = load_full("passage_retrieval_zh");
  for (auto& s : mini({"passage_retrieval_zh"})) zh_retrieval.push_back(s);
  std::vector<MetricPlan> plans = {
      {"longbench.qa_f1",
       mini({"narrativeqa", "qasper", "multifieldqa_en", "hotpotqa", "2wikimqa", "musique",
             "triviaqa"})},
      {"longbench.qa_f1_zh", zh_qa},
      {"longbench.rouge", news},
      {"longbench.rouge_zh", zh_sum},
      {"longbench.classification", mini({"trec", "lsht"})},
      {"longbench.retrieval", mini({"passage_retrieval_en"})},
      {"longbench.retrieval_zh", zh_retrieval},
      {"longbench.count", mini({"passage_count"})},
      {"longbench.code_sim", mini({"lcc", "repobench-p"})}};

  Rng rng(20261123);
  std::vector<nlohmann::json> cases, groups;
  std::map<std::string, size_t> per_metric;
  for (const MetricPlan& plan : plans) {
    ASSERT_FALSE(plan.sources.empty()) << plan.metric;
    std::vector<std::string> ids;
    std::vector<double> lengths;
    for (size_t i = 0; i < 540; ++i) {
      Source s = plan.sources[i % plan.sources.size()];
      if (plan.metric == "longbench.count" && rng.chance(60))
        s.answers = {std::to_string(rng.below(40))};
      if (plan.metric == "longbench.retrieval" && rng.chance(60))
        s.answers = {"Paragraph " + std::to_string(1 + rng.below(30))};
      // The Python rouge package's LCS is slow on long summaries: most ROUGE cases use a shortened
      // reference (a prefix in code points), the rest the full one.
      if ((plan.metric == "longbench.rouge" || plan.metric == "longbench.rouge_zh") && rng.chance(75))
        for (auto& a : s.answers) a = u32_to_utf8(utf8_to_u32(a).substr(0, 40 + rng.below(300)));
      std::string id = plan.metric + "#" + std::to_string(i);
      cases.push_back({{"id", id}, {"metric", plan.metric},
                       {"prediction", sanitize_utf8(make_prediction(s, rng, plan.metric))},
                       {"references", sanitized(s.answers)}, {"all_classes", s.all_classes},
                       {"dataset", s.dataset}});
      ids.push_back(id);
      lengths.push_back(s.length > 0 ? s.length : static_cast<double>(rng.below(12000)));
      ++per_metric[plan.metric];
    }
    groups.push_back({{"group", plan.metric}, {"ids", ids}, {"lengths", lengths}});
  }
  // ROUGE recursion boundary: the package's recursive LCS traceback overflows Python's stack for
  // 991 identical words (990 through rouge_zh, one frame deeper).
  for (int n : {990, 991}) {
    std::string text;
    for (int w = 0; w < n; ++w) text += (w ? " w" : "w") + std::to_string(w);
    cases.push_back({{"id", "rouge-depth-" + std::to_string(n)}, {"metric", "longbench.rouge"},
                     {"prediction", text}, {"references", {text}}, {"all_classes", nullptr},
                     {"dataset", "gov_report"}});
    cases.push_back({{"id", "rouge_zh-depth-" + std::to_string(n - 1)}, {"metric", "longbench.rouge_zh"},
                     {"prediction", text.substr(0, text.rfind(' '))},
                     {"references", {text.substr(0, text.rfind(' '))}}, {"all_classes", nullptr},
                     {"dataset", "vcsum"}});
  }

  const std::string dir = test::tmp_dir();
  test::write_jsonl(dir + "/longbench_cases.jsonl", cases);
  test::write_jsonl(dir + "/longbench_groups.jsonl", groups);
  ASSERT_TRUE(test::run_reference("longbench_reference.py",
                                  {dir + "/longbench_cases.jsonl", dir + "/longbench_groups.jsonl",
                                   dir + "/longbench_out.jsonl"}));
  std::map<std::string, nlohmann::json> expected;
  std::vector<nlohmann::json> aggregates;
  for (const auto& row : test::read_jsonl(dir + "/longbench_out.jsonl")) {
    if (row.contains("id")) expected[row["id"].get<std::string>()] = row;
    else aggregates.push_back(row);
  }
  ASSERT_EQ(expected.size(), cases.size());

  std::map<std::string, double> cpp_scores;
  std::map<std::string, size_t> exact, errors;
  std::map<std::string, double> seconds;
  for (const auto& c : cases) {
    auto started = std::chrono::steady_clock::now();
    const std::string id = c["id"], metric = c["metric"];
    const nlohmann::json& want = expected[id];
    std::vector<std::string> classes;
    if (c["all_classes"].is_array()) classes = c["all_classes"].get<std::vector<std::string>>();
    std::string prepared = longbench_prepare_prediction(c["dataset"], c["prediction"]);
    if (want.contains("error")) {
      ++errors[metric];
      EXPECT_ANY_THROW(longbench_sample_score(functions.at(metric), prepared,
                                              c["references"].get<std::vector<std::string>>(), classes))
          << id << " (Python raised " << want["error"] << ")";
      continue;
    }
    double got = longbench_sample_score(functions.at(metric), prepared,
                                        c["references"].get<std::vector<std::string>>(), classes);
    cpp_scores[id] = got;
    seconds[metric] += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    double ref = want["score"].get<double>();
    EXPECT_NEAR(got, ref, 1e-9) << id << "\nprediction: " << c["prediction"].dump()
                                << "\nreferences: " << c["references"].dump();
    if (got == ref) ++exact[metric];
  }
  for (const auto& kv : per_metric) {
    EXPECT_GE(kv.second, 500u) << kv.first;
    EXPECT_EQ(errors[kv.first], 0u) << kv.first << ": Python raised on generated cases";
    std::printf("[parity] %-26s %zu pairs, %zu bit-identical (C++ %.2f s)\n", kv.first.c_str(),
                kv.second, exact[kv.first], seconds[kv.first]);
  }
  EXPECT_EQ(cpp_scores.at("rouge-depth-991"), 0.0);
  EXPECT_GT(cpp_scores.at("rouge-depth-990"), 0.99);

  ASSERT_EQ(aggregates.size(), groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<double> scores;
    for (const auto& id : groups[g]["ids"]) scores.push_back(cpp_scores.at(id.get<std::string>()));
    EXPECT_EQ(longbench_dataset_score(scores), aggregates[g]["score"].get<double>()) << groups[g]["group"];
    auto e = longbench_e_scores(scores, groups[g]["lengths"].get<std::vector<double>>());
    for (const auto& kv : e) {
      const nlohmann::json& want = aggregates[g]["e"][kv.first];
      if (want.is_null()) EXPECT_TRUE(std::isnan(kv.second)) << kv.first;
      else EXPECT_EQ(kv.second, want.get<double>()) << groups[g]["group"] << " " << kv.first;
    }
  }
}

}  // namespace
}  // namespace kvbench
