// SPDX-License-Identifier: Apache-2.0
// Edge cases of every scorer with hand-computed expectations (no Python needed): Unicode and
// normalization rules, LongBench metric quirks kept on purpose (classification's skip-after-remove,
// code_sim's first line, ROUGE's exception -> 0), GSM8K filters and exact_match, Python re
// iteration, RULER matching, the Text2JSON penalties and JSON rules, NeedleBench and LongProc.
#include "datasets/longbench_prompt.h"
#include "harness/error.h"
#include "harness/params.h"
#include "metrics/fuzz_ratio.h"
#include "metrics/gsm8k_exact_match.h"
#include "metrics/jieba_segmenter.h"
#include "metrics/longbench_scorer.h"
#include "metrics/longproc_html_to_tsv.h"
#include "harness/task/metric.h"
#include "metrics/needlebench_multi_retrieval.h"
#include "metrics/normalize.h"
#include "harness/pytext/py_json.h"
#include "harness/pytext/py_regex.h"
#include "metrics/rouge_l.h"
#include "metrics/ruler_string_match.h"
#include "metrics/text2json_scorer.h"
#include "harness/pytext/unicode_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace kvbench {
namespace {

std::string n(const std::string& s) { return u32_to_utf8(normalize_answer(utf8_to_u32(s))); }

std::unique_ptr<Metric> make_metric(const std::string& name) {
  const auto* entry = MetricRegistry::instance().find(name);
  EXPECT_NE(entry, nullptr) << name;
  return entry->make(default_params(entry->params));
}

TEST(UnicodeText, PythonLowerSplitStrip) {
  EXPECT_EQ(py_lower_utf8("\xC4\xB0\xCE\xA3\xCE\x91\xCE\xA3 X"), "i\xCC\x87\xCF\x83\xCE\xB1\xCF\x82 x");
  EXPECT_EQ(py_lower_utf8("\xCE\x91\xCE\xA3."), "\xCE\xB1\xCF\x82.");   // final sigma before '.'
  EXPECT_EQ(py_lower_utf8("\xCE\xA3"), "\xCF\x83");                     // no cased letter before
  EXPECT_EQ(py_lower_utf8("\xC3\x9F\xEF\xAC\x81"), "\xC3\x9F\xEF\xAC\x81");
  auto words = py_split_whitespace(utf8_to_u32("a\xE3\x80\x80" "b\x1c" "c\xC2\x85" "d \t"));
  ASSERT_EQ(words.size(), 4u);
  EXPECT_EQ(py_strip_utf8("\x1f\xC2\xA0 x \xE2\x80\xA8"), "x");
  EXPECT_EQ(utf8_to_u32("a\xFF" "b\xE4\xB8"), std::u32string(U"a\uFFFDb\uFFFD\uFFFD"));
  auto digits = py_find_digit_runs(utf8_to_u32("x12y\xEF\xBC\x93\xD9\xA3z"));
  ASSERT_EQ(digits.size(), 2u);
  EXPECT_EQ(u32_to_utf8(digits[1]), "\xEF\xBC\x93\xD9\xA3");
}

TEST(Normalize, EnglishAndChinese) {
  EXPECT_EQ(n("The Cat's hat!"), "cats hat");
  EXPECT_EQ(n("a-an the"), "aan");              // punctuation goes before articles
  EXPECT_EQ(n("caf\xC3\xA9 a"), "caf\xC3\xA9");   // \b is Unicode-aware: "a" after a space
  EXPECT_EQ(n("\xC3\xA9" "a b"), "\xC3\xA9" "a b");  // no boundary between é and a
  EXPECT_EQ(n("  Many   spaces\t"), "many spaces");
  EXPECT_EQ(u32_to_utf8(normalize_zh_answer(utf8_to_u32("\xE5\x8E\xA6 \xE9\x97\xA8\xE3\x80\x82" "A"))),
            "\xE5\x8E\xA6\xE9\x97\xA8" "a");
}

TEST(LongBench, QaF1) {
  const std::vector<std::string> none;
  EXPECT_DOUBLE_EQ(longbench_qa_f1_score("Paris.", "paris", none), 1.0);
  EXPECT_DOUBLE_EQ(longbench_qa_f1_score("red blue green", "red green", none), 0.8);
  EXPECT_EQ(longbench_qa_f1_score("", "x", none), 0.0);
  EXPECT_EQ(longbench_qa_f1_score("the", "a", none), 0.0);  // both empty after normalization
  EXPECT_DOUBLE_EQ(longbench_qa_f1_zh_score("\xE5\x8E\xA6\xE9\x97\xA8\xE5\xA4\xA7\xE5\xAD\xA6\xE3\x80\x82",
                                            "\xE5\x8E\xA6\xE9\x97\xA8\xE5\xA4\xA7\xE5\xAD\xA6", none), 1.0);
}

TEST(LongBench, RougeExceptionsAndSets) {
  const std::vector<std::string> none;
  EXPECT_EQ(longbench_rouge_score("", "a reference", none), 0.0);     // "Hypothesis is empty."
  EXPECT_EQ(longbench_rouge_score("...", "a reference", none), 0.0);  // only dots: no sentence
  EXPECT_DOUBLE_EQ(longbench_rouge_score("a b c", "a b c", none), 2.0 * (1.0 / (2.0 + 1e-8)));
  // Set counts: repeated words count once on both sides.
  auto s = rouge_get_scores(U"x x x y", U"x y");
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(s->rougel_p, 1.0);
  EXPECT_DOUBLE_EQ(s->rougel_r, 1.0);
  // The recursion guard: 3 identical words need 4 nested calls.
  EXPECT_FALSE(rouge_get_scores(U"a b c", U"a b c", 3).has_value());
  EXPECT_TRUE(rouge_get_scores(U"a b c", U"a b c", 4).has_value());
}

TEST(LongBench, ClassificationKeepsOfficialLoopQuirk) {
  // matches = [A, AB, ABC]; removing "A" makes the loop skip "AB", so AB stays: 1/2, not 1.
  EXPECT_DOUBLE_EQ(longbench_classification_score("A AB ABC", "ABC", {"A", "AB", "ABC"}), 0.5);
  EXPECT_DOUBLE_EQ(longbench_classification_score("Food", "Food", {"Food", "Date"}), 1.0);
  EXPECT_EQ(longbench_classification_score("nothing", "Food", {"Food", "Date"}), 0.0);
}

TEST(LongBench, RetrievalCountCodeSim) {
  const std::vector<std::string> none;
  EXPECT_DOUBLE_EQ(longbench_retrieval_score("Paragraph 3, 3 and 5", "Paragraph 3", none), 2.0 / 3);
  EXPECT_DOUBLE_EQ(longbench_retrieval_score("\xEF\xBC\x93 and 3", "Paragraph 3", none), 0.5);
  EXPECT_EQ(longbench_retrieval_score("no numbers", "Paragraph 3", none), 0.0);
  EXPECT_THROW(longbench_retrieval_score("3", "no id", none), Error);
  EXPECT_DOUBLE_EQ(longbench_retrieval_zh_score("\xE6\xAE\xB5\xE8\x90\xBD" "27", "\xE6\xAE\xB5\xE8\x90\xBD" "27", none), 1.0);
  EXPECT_DOUBLE_EQ(longbench_count_score("5 5", "5", none), 1.0);
  EXPECT_DOUBLE_EQ(longbench_code_sim_score("```\n# c\n  x = 1\n", "x = 1", none), 0.83);
  EXPECT_EQ(longbench_code_sim_score("\n \nx = 1", "x = 1", none), 0.33);  // the " " line is chosen
  EXPECT_EQ(longbench_code_sim_score("", "", none), 1.0);                 // equal strings: 100
  EXPECT_EQ(fuzz_ratio(U"abcdefgh", U"abcdefgi"), 88);  // 87.5 rounds half to even
  EXPECT_EQ(fuzz_ratio(U"abcdefgh", U"abcdexyz"), 62);  // 62.5 rounds half to even
}

TEST(LongBench, ScorerLogic) {
  EXPECT_EQ(longbench_prepare_prediction("samsum", "\n\nhi\nthere"), "hi");
  EXPECT_EQ(longbench_prepare_prediction("trec_e", "a\nb"), "a");
  EXPECT_EQ(longbench_prepare_prediction("gov_report", "\na\nb"), "\na\nb");
  EXPECT_EQ(longbench_metric_for_dataset("lsht"), "longbench.classification");
  EXPECT_EQ(longbench_metric_for_dataset("qasper_e"), "longbench.qa_f1");
  EXPECT_EQ(longbench_dataset_score({0.5, 1.0, 0.0}), 50.0);
  EXPECT_EQ(python_round2(0.125), 0.12);
  EXPECT_EQ(python_round2(2.675), 2.67);
  auto e = longbench_e_scores({1.0, 0.0, 0.5}, {100, 3999, 9000});
  EXPECT_EQ(e["0-4k"], 50.0);
  EXPECT_TRUE(std::isnan(e["4-8k"]));
  EXPECT_EQ(e["8k+"], 50.0);
  // The registered metric reads "dataset" and "all_classes" from the sample metadata.
  auto metric = make_metric("longbench.classification");
  Scores s = metric->score("Food\nDate", {"Food"}, {{"dataset", "trec"}, {"all_classes", {"Food", "Date"}}});
  EXPECT_EQ(s.at("classification_score"), 1.0);
  s = metric->score("Food\nDate", {"Food"}, {{"dataset", "other"}, {"all_classes", {"Food", "Date"}}});
  EXPECT_EQ(s.at("classification_score"), 0.5);
}

TEST(Jieba, KnownSegmentations) {
  auto cut = [](const std::string& text) {
    std::vector<std::string> out;
    for (const auto& t : JiebaSegmenter::default_instance().cut(utf8_to_u32(text))) out.push_back(u32_to_utf8(t));
    return out;
  };
  // jieba's README examples (default mode, HMM on).
  EXPECT_THAT(cut("\xE6\x88\x91\xE6\x9D\xA5\xE5\x88\xB0\xE5\x8C\x97\xE4\xBA\xAC\xE6\xB8\x85\xE5\x8D\x8E\xE5\xA4\xA7\xE5\xAD\xA6"),
              ::testing::ElementsAre("\xE6\x88\x91", "\xE6\x9D\xA5\xE5\x88\xB0", "\xE5\x8C\x97\xE4\xBA\xAC",
                                     "\xE6\xB8\x85\xE5\x8D\x8E\xE5\xA4\xA7\xE5\xAD\xA6"));
  EXPECT_THAT(cut("\xE4\xBB\x96\xE6\x9D\xA5\xE5\x88\xB0\xE4\xBA\x86\xE7\xBD\x91\xE6\x98\x93\xE6\x9D\xAD\xE7\xA0\x94\xE5\xA4\xA7\xE5\x8E\xA6"),
              ::testing::ElementsAre("\xE4\xBB\x96", "\xE6\x9D\xA5\xE5\x88\xB0", "\xE4\xBA\x86", "\xE7\xBD\x91\xE6\x98\x93",
                                     "\xE6\x9D\xAD\xE7\xA0\x94", "\xE5\xA4\xA7\xE5\x8E\xA6"));
  EXPECT_THAT(cut("a b\r\n"), ::testing::ElementsAre("a", " ", "b", "\r\n"));
  EXPECT_TRUE(cut("").empty());
  EXPECT_THROW(JiebaSegmenter("/nonexistent"), Error);
}

TEST(PyRegex, PythonIterationSemantics) {
  EXPECT_EQ(PyRegex("x*").sub("-", "abxd"), "-a-b--d-");
  EXPECT_EQ(PyRegex("").findall("ab").size(), 3u);
  auto groups = PyRegex("(a)|(b)").findall("ab");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1], (std::vector<std::string>{"", "b"}));
  EXPECT_EQ(PyRegex("\\.$").sub("", "5.\n"), "5\n");        // $ also before a final newline
  EXPECT_EQ(PyRegex("(?s).*#### ").sub("", "a\nb #### 7"), "7");
  EXPECT_EQ(PyRegex("a.b").findall("a\nb").size(), 0u);    // . excludes only \n
  EXPECT_THROW(PyRegex("("), Error);
}

TEST(Gsm8k, FiltersAndExactMatch) {
  auto plain = make_metric("gsm8k.exact_match");
  Scores s = plain->score("so #### 1,234", {"work\n#### 1234"}, {});
  EXPECT_EQ(s.at("exact_match,strict-match"), 1.0);
  EXPECT_EQ(s.at("exact_match,flexible-extract"), 1.0);
  s = plain->score("The answer is $1,234.50.", {"x\n#### 1234"}, {});
  EXPECT_EQ(s.at("exact_match,strict-match"), 0.0);    // "[invalid]"
  EXPECT_EQ(s.at("exact_match,flexible-extract"), 0.0);  // "1234.50" != "1234"
  s = plain->score("5 apples, then 7.", {"#### 7"}, {});
  EXPECT_EQ(s.at("exact_match,flexible-extract"), 1.0);  // last match, trailing "." removed
  auto cot = make_metric("gsm8k_cot.exact_match");
  s = cot->score("So The answer is 5.", {"5"}, {});
  EXPECT_EQ(s.at("exact_match,strict-match"), 1.0);
  PyRegex flexible("(-?[$0-9.,]{2,})|(-?[0-9]+)");
  EXPECT_EQ(lmeval_regex_filter(flexible, -1, "[invalid]", "no digits"), "[invalid]");
  EXPECT_EQ(lmeval_regex_filter(flexible, -1, "[invalid]", "1 and 22"), "22");
  EXPECT_THROW(lmeval_regex_filter(flexible, 5, "[invalid]", "1 and 22"), Error);  // IndexError
}

TEST(Ruler, StringMatch) {
  EXPECT_EQ(ruler_postprocess("\x01 a\x02" "b \x1f"), "a\nb");
  EXPECT_EQ(ruler_hit_fraction("has a", {"A", "b"}, true), 0.5);
  EXPECT_EQ(ruler_hit_fraction("has a", {"A", "b"}, false), 1.0);
  auto all = make_metric("ruler.string_match_all");
  EXPECT_EQ(all->score(" 123 and 456", {"123", "456", "789"}, {}).at("string_match_all"), 2.0 / 3 * 100);
  EXPECT_EQ(ruler_task_score({100.0, 50.0, 0.0}), 50.0);
}

TEST(Text2Json, Penalties) {
  const std::string gold =
      R"([{"name": "Ann", "city": "Rome", "age": "30"}, {"name": "Bo\u2019s", "city": "Oslo", "age": "12"}])";
  auto score = [&](const std::string& p) { return text2json_score_sample(p, gold); };
  EXPECT_EQ(score(gold).score, 1.0);
  EXPECT_EQ(score(R"(x [{"name": "Ann", "city": "Rome", "age": "31"}, {"name": "Bo's", "city": "Oslo", "age": 12}] y)").score,
            (0.75 + 1.0) / 2);                                           // wrong value; int -> "12"; ’ == '
  EXPECT_EQ(score(R"([{"name": "Ann", "city": null}])").score, 0.0 / 2); // -0.5 twice
  EXPECT_EQ(score(R"([{"name": "Ann", "city": "Rome", "age": "30"}, {"name": "Zed"}])").score, 1.0 / 3);
  EXPECT_EQ(score(R"([{"name": "Ann", "city": "Rome", "age": "30"}, {"name": "Ann", "city": "Rome", "age": "30"}])").score,
            1.0 / 3);                                                    // duplicate counts as extra
  EXPECT_EQ(score("[1] [2]").score, 0.0);
  EXPECT_FALSE(score("[1] [2]").valid_list);
  EXPECT_EQ(score("] [").score, 0.0);
  EXPECT_EQ(score(R"([{"name": "Ann",}])").score, 0.0);                  // invalid JSON
  Text2JsonSample s = score(R"([{"name": "Ann", "city": true, "age": 3.0}])");
  EXPECT_EQ(s.score, 0.5 / 2);
  EXPECT_EQ(s.python_would_raise, 2);
  EXPECT_TRUE(text2json_score_sample("[]", R"([{"name": "A", "x": "1", "y": "2"}, {"name": "A", "x": "1", "y": "2"}])").bad);
  EXPECT_THROW(text2json_score_sample("[]", R"([{"name": "A"}])"), Error);
  EXPECT_THROW(text2json_score_sample("[]", "[]"), Error);              // 0 / 0 in the original
  EXPECT_EQ(text2json_average({score(gold), text2json_score_sample("[]", R"([{"name": "A", "x": "1", "y": "2"}, {"name": "A", "x": "1", "y": "2"}])"),
                               score("")}),
            50.0);
}

TEST(PyJson, PythonJsonLoadsRules) {
  EXPECT_TRUE(py_json_loads("[NaN, Infinity, -Infinity]").has_value());
  EXPECT_FALSE(py_json_loads("[" + std::string(4301, '1') + "]").has_value());
  EXPECT_TRUE(py_json_loads("[" + std::string(4300, '1') + "]").has_value());
  auto v = py_json_loads(R"({"a": "\ud800", "a": -0, "b": 1.0})");
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->fields.size(), 2u);
  EXPECT_EQ(v->find(U"a")->kind, PyJson::Kind::kInt);  // last value wins
  EXPECT_EQ(v->find(U"a")->number, "0");
  EXPECT_EQ(v->find(U"b")->kind, PyJson::Kind::kFloat);
  EXPECT_FALSE(py_json_loads("[\"a\tb\"]").has_value());  // raw control character
  EXPECT_FALSE(py_json_loads("[01]").has_value());
  EXPECT_FALSE(py_json_loads("\xEF\xBB\xBF[]").has_value());
  EXPECT_EQ(py_json_loads(R"("\uD83D\uDE00")")->text, std::u32string(U"\U0001F600"));
}

TEST(NeedleBench, Scores) {
  auto hits = needle_hits("found Alpha and gamma", "Alpha*Beta*Gamma#0*50*100");
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_TRUE(hits[0].second);
  EXPECT_FALSE(hits[2].second);  // case-sensitive
  auto task = needlebench_scores({"Alpha", "Beta"}, {"Alpha*Beta#0*100", "Alpha*Beta#0*100"});
  EXPECT_EQ(task.back().first, "average_score");
  EXPECT_EQ(task.back().second, 50.0);
  EXPECT_THROW(parse_needle_answer("no depths"), Error);
  auto metric = make_metric("needlebench.multi_retrieval");
  Scores s = metric->score("Alpha", {"Alpha*Beta#0*100"}, {});
  EXPECT_EQ(s.at("Depth0"), 100.0);
  EXPECT_EQ(s.at("Depth100"), 0.0);
  EXPECT_EQ(s.at("average_score"), 50.0);
}

TEST(LongProc, CsvAndRowMatching) {
  auto rows = python_csv_read_tsv({U"\"ab", U"cd\"\te", U""});
  ASSERT_TRUE(rows.has_value());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], (std::vector<std::u32string>{U"abcd", U"e"}));
  EXPECT_FALSE(python_csv_read_tsv({U"a\rb"}).has_value());
  const std::string gt = "a\tb\nThe Cat\t1\nDog\t2";
  TsvScores s = html_to_tsv_scores("x\ty\ncat.\t1\nDOG\t2", gt);
  EXPECT_EQ(s.f1, 1.0);
  s = html_to_tsv_scores("x\ty\ncat\t1\nfox\t3\nowl\t4\nbad", gt);  // trailing incomplete row dropped
  EXPECT_DOUBLE_EQ(s.precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(s.recall, 0.5);
  EXPECT_TRUE(html_to_tsv_scores("x\ty\tz\n1\t2\t3", gt).error);   // column counts differ
  EXPECT_TRUE(html_to_tsv_scores("x\ty\ncat\t1", "a\tb").error);   // header-only gold
  EXPECT_TRUE(html_to_tsv_scores("x\tx\ncat\t1", gt).error);      // duplicate header with rows
}

TEST(Registry, EveryScorerNamesItsSource) {
  for (const char* name : {"longbench.qa_f1", "longbench.qa_f1_zh", "longbench.rouge", "longbench.rouge_zh",
                           "longbench.classification", "longbench.retrieval", "longbench.retrieval_zh",
                           "longbench.count", "longbench.code_sim", "gsm8k.exact_match",
                           "gsm8k_cot.exact_match", "ruler.string_match_all", "ruler.string_match_part",
                           "text2json.iou", "needlebench.multi_retrieval", "longproc.html_to_tsv"}) {
    const auto* entry = MetricRegistry::instance().find(name);
    ASSERT_NE(entry, nullptr) << name;
    EXPECT_TRUE(entry->extra.contains("source")) << name;
    EXPECT_FALSE(entry->description.empty()) << name;
  }
}

}  // namespace
}  // namespace kvbench
