// SPDX-License-Identifier: Apache-2.0
// Parity of gsm8k.exact_match / gsm8k_cot.exact_match with lm-evaluation-harness 0.4.13 from PyPI
// (scripts/reference/gsm8k_reference.py: the task YAMLs' filters and exact_match). Generations are
// derived from the GSM8K test split in ../shared/data (full solutions, CoT endings, perturbed
// numbers, currency, commas, Unicode digits, case, NULs, empty output); 600 per task.
#include "harness/params.h"
#include "metrics/gsm8k_exact_match.h"
#include "harness/task/metric.h"
#include "tests/unit/parity_util.h"

#include <gtest/gtest.h>

#include <map>

namespace kvbench {
namespace {

using test::Rng;

std::string final_number(const std::string& answer) {
  size_t pos = answer.rfind("####");
  std::string tail = pos == std::string::npos ? answer : answer.substr(pos + 4);
  return py_strip_utf8(tail);
}

std::string make_generation(const nlohmann::json& doc, Rng& rng) {
  const std::string answer = doc.at("answer").get<std::string>();
  const std::string n = final_number(answer);
  const std::string body = answer.substr(0, answer.rfind("####"));
  static const std::vector<std::string> edges = {
      "", " ", "####", "#### ", "#### -", "#### .", "#### $", "The answer is .", "The answer is",
      "\xC4\xB0\xCE\xA3\xCE\x91\xCE\xA3 5", "#### \xEF\xBC\x95", "#### \xD9\xA3", "$", "-", "..",
      "#### 5\n#### 6", "The answer is 1,000,000.", "#### 1.5.", "#### 007", "\n\n\n"};
  switch (rng.below(12)) {
    case 0: return answer;
    case 1: return body + "The answer is " + n + ".";
    case 2: return body + "The answer is $" + n + (rng.chance(50) ? ".00." : ".");
    case 3: return test::mutate(answer, rng, 1 + static_cast<int>(rng.below(3)));
    case 4: return rng.pick(std::vector<std::string>{n, "$" + n, "-" + n, n + ".", n + ",000",
                                                     " " + n + " ", n + "\n\nQuestion: x"});
    case 5: return "#### " + n + "\n\nQuestion: " + doc.at("question").get<std::string>();
    case 6: return rng.pick(edges);
    case 7: return body + "#### " + std::to_string(std::atol(n.c_str()) + 1);
    case 8: return "THE ANSWER IS " + n + ". " + (rng.chance(50) ? "The answer is " + n + "!" : "");
    case 9: return n + std::string(1, '\0') + (rng.chance(50) ? std::string(1, '\0') : "");
    case 10: return test::word_window(doc.at("question").get<std::string>(), rng, 1, 20);
    default: return body + "#### " + test::mutate(n, rng, 1);
  }
}

TEST(Gsm8kParity, ExactMatchAndFiltersMatchLmEval) {
  std::vector<nlohmann::json> docs =
      test::read_jsonl(test::data_path("gsm8k/test.jsonl"));
  ASSERT_GT(docs.size(), 1000u);
  Rng rng(1234);
  std::vector<nlohmann::json> cases;
  for (const char* task : {"gsm8k", "gsm8k_cot"}) {
    for (size_t i = 0; i < 600; ++i) {
      const nlohmann::json& doc = docs[rng.below(docs.size())];
      std::string target = std::string(task) == "gsm8k" ? doc.at("answer").get<std::string>()
                                                        : final_number(doc.at("answer").get<std::string>());
      if (rng.chance(5)) target = test::mutate(target, rng, 1);
      cases.push_back({{"id", std::string(task) + "#" + std::to_string(i)}, {"task", task},
                       {"prediction", sanitize_utf8(make_generation(doc, rng))},
                       {"target", sanitize_utf8(target)}});
    }
  }
  // Near-identical pairs for exact_match itself: case, NULs, U+0130 / sigma lowercasing, punctuation.
  static const std::vector<std::string> tails = {"", std::string(1, '\0'), std::string(2, '\0'),
                                                 "\xC4\xB0", "\xC4\xB0" + std::string(1, '\0'),
                                                 "\xCE\xA3", "i\xCC\x87", ".", ",", "$"};
  for (size_t i = 0; i < 300; ++i) {
    std::string base = test::word_window(docs[rng.below(docs.size())].at("question").get<std::string>(), rng, 1, 4);
    std::string target = base + rng.pick(tails);
    std::string pred = rng.chance(50) ? py_lower_utf8(base) + rng.pick(tails) : test::mutate(target, rng, 1);
    if (rng.chance(30)) target = "x #### " + target;
    cases.push_back({{"id", "raw#" + std::to_string(i)}, {"task", rng.chance(50) ? "gsm8k" : "gsm8k_cot"},
                     {"prediction", sanitize_utf8(pred)}, {"target", sanitize_utf8(target)}});
  }
  // numpy's fixed width: "\u0130" lowers to "i" alone, but keeps "i\u0307" when a trailing NUL
  // made the array one character wider.
  const std::vector<std::pair<std::string, std::string>> explicit_pairs = {
      {"abci", "Abc\xC4\xB0"}, {"abci\xCC\x87", "Abc\xC4\xB0"},
      {"abci", std::string("Abc\xC4\xB0") + '\0'}, {"abci\xCC\x87", std::string("Abc\xC4\xB0") + '\0'},
      {"\xCF\x83\xCE\xB1\xCF\x82", "\xCE\xA3\xCE\x91\xCE\xA3"}, {std::string("5") + '\0', "5"}};
  for (size_t i = 0; i < explicit_pairs.size(); ++i)
    cases.push_back({{"id", "explicit#" + std::to_string(i)}, {"task", "gsm8k"},
                     {"prediction", explicit_pairs[i].first}, {"target", explicit_pairs[i].second}});
  const std::string dir = test::tmp_dir();
  test::write_jsonl(dir + "/gsm8k_cases.jsonl", cases);
  ASSERT_TRUE(test::run_reference("gsm8k_reference.py", {dir + "/gsm8k_cases.jsonl", dir + "/gsm8k_out.jsonl"}));
  std::vector<nlohmann::json> out = test::read_jsonl(dir + "/gsm8k_out.jsonl");
  ASSERT_EQ(out.size(), cases.size());

  std::map<std::string, std::unique_ptr<Metric>> metrics;
  for (const char* task : {"gsm8k", "gsm8k_cot"}) {
    const auto* entry = MetricRegistry::instance().find(std::string(task) + ".exact_match");
    ASSERT_NE(entry, nullptr);
    metrics[task] = entry->make(default_params(entry->params));
  }
  PyRegex strict_plain("#### (\\-?[0-9\\.\\,]+)"), strict_cot("The answer is (\\-?[0-9\\.\\,]+).");
  PyRegex flexible("(-?[$0-9.,]{2,})|(-?[0-9]+)");
  std::vector<std::unique_ptr<PyRegex>> yaml_regexes;
  for (const char* r : {",", "\\$", "(?s).*#### ", "\\.$"}) yaml_regexes.push_back(std::make_unique<PyRegex>(r));
  const std::vector<std::unique_ptr<PyRegex>> no_regexes;
  std::map<std::string, int> positives, raw_positives;
  for (size_t i = 0; i < cases.size(); ++i) {
    const nlohmann::json& c = cases[i];
    const nlohmann::json& want = out[i]["scores"];
    const std::string task = c["task"], pred = c["prediction"];
    Scores got = metrics[task]->score(pred, {c["target"].get<std::string>()}, nlohmann::json::object());
    for (const char* name : {"strict-match", "flexible-extract"}) {
      std::string key = std::string("exact_match,") + name;
      EXPECT_EQ(got.at(key), want[key].get<double>()) << c["id"] << " " << key << "\n" << c.dump();
      if (got.at(key) == 1.0) ++positives[task + "," + name];
    }
    const std::string target = c["target"];
    const nlohmann::json& raw = out[i]["raw"];
    const std::pair<const char*, double> raw_got[] = {
        {"yaml", lmeval_exact_match(pred, target, yaml_regexes, true, false, false)},
        {"yaml+punct+numbers", lmeval_exact_match(pred, target, yaml_regexes, true, true, true)},
        {"case_only", lmeval_exact_match(pred, target, no_regexes, true, false, false)},
        {"none", lmeval_exact_match(pred, target, no_regexes, false, false, false)}};
    for (const auto& kv : raw_got) {
      EXPECT_EQ(kv.second, raw[kv.first].get<double>()) << c["id"] << " raw " << kv.first << "\n" << c.dump();
      if (kv.second == 1.0) ++raw_positives[kv.first];
    }
    EXPECT_EQ(lmeval_regex_filter(task == "gsm8k" ? strict_plain : strict_cot, 0, "[invalid]", pred),
              want["filtered,strict-match"].get<std::string>()) << c["id"];
    EXPECT_EQ(lmeval_regex_filter(flexible, -1, "[invalid]", pred),
              want["filtered,flexible-extract"].get<std::string>()) << c["id"];
  }
  for (const auto& kv : positives) std::printf("[parity] %s: %d exact matches\n", kv.first.c_str(), kv.second);
  for (const auto& kv : raw_positives)
    std::printf("[parity] exact_match alone (%s): %d of %zu pairs equal\n", kv.first.c_str(), kv.second, cases.size());
  EXPECT_EQ(positives.size(), 4u);  // every (task, filter) has matches as well as misses
}

}  // namespace
}  // namespace kvbench
