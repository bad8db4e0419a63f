// SPDX-License-Identifier: Apache-2.0
// Parity of ruler.string_match_all / ruler.string_match_part with RULER's scoring
// (scripts/reference/ruler_reference.py: lm-eval 0.4.13's RULER utils from PyPI for postprocessing
// and string_match_all, a linked port of RULER's string_match_part). References: the pregenerated
// RULER niah file in ../shared/data plus generated multi-value needles and multi-alias QA answers;
// predictions: answer-prefix outputs with missing / reordered / re-cased values, control characters,
// Unicode case edge cases and haystack windows. 600 cases per metric, plus the task-level score.
#include "harness/params.h"
#include "harness/task/metric.h"
#include "harness/pytext/py_regex.h"
#include "metrics/ruler_string_match.h"
#include "tests/unit/parity_util.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace kvbench {
namespace {

using test::Rng;

std::string random_value(Rng& rng) {
  switch (rng.below(3)) {
    case 0: return std::to_string(1000000 + rng.below(9000000));
    case 1: return rng.pick(std::vector<std::string>{"tender-lemon", "Quiet-Harbor", "\xC4\xB0zmir-cat",
                                                     "\xCE\xA3\xCE\x91\xCE\xA3-word", "straße-gate"});
    default: {
      static const char* hex = "0123456789abcdef";
      std::string u;
      for (int k = 0; k < 32; ++k) {
        if (k == 8 || k == 12 || k == 16 || k == 20) u += '-';
        u += hex[rng.below(16)];
      }
      return u;
    }
  }
}

std::string make_output(const std::vector<std::string>& refs, const std::string& haystack, Rng& rng) {
  std::string out = rng.chance(50) ? " The special magic numbers for the keys mentioned are " : "";
  for (const std::string& r : refs) {
    if (rng.chance(25)) continue;  // missing value
    std::string v = r;
    if (rng.chance(20)) v = py_lower_utf8(v);
    if (rng.chance(15)) v = test::mutate(v, rng, 1);
    if (rng.chance(10)) {  // upper-case ASCII
      for (char& ch : v) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    out += v + rng.pick(std::vector<std::string>{", ", "\n", "\x01", " and ", "\x1f", "\t"});
  }
  switch (rng.below(6)) {
    case 0: out += test::word_window(haystack, rng, 1, 30); break;
    case 1: out = "\x02\n  " + out + "\x00\x1b"; break;
    case 2: out = rng.pick(std::vector<std::string>{"", " ", "\x03", "\n\n", "None"}); break;
    default: break;
  }
  return out;
}

TEST(RulerParity, StringMatchMatchesRuler) {
  std::vector<nlohmann::json> niah = test::read_jsonl_text(
      test::read_gz(test::data_path("niah/ruler/pregenerated_4096/niah_multikey_3.jsonl.gz")));
  ASSERT_FALSE(niah.empty());
  std::vector<std::vector<std::string>> qa_refs;
  for (const char* name : {"hotpotqa", "triviaqa", "musique", "2wikimqa", "qasper"}) {
    nlohmann::json data = nlohmann::json::parse(test::read_gz(
        test::data_path(std::string("longbench/minilongbench/MiniLongBench_") + name + ".json.gz")));
    for (const auto& kv : data.items()) qa_refs.push_back(kv.value().at("gold").get<std::vector<std::string>>());
  }
  Rng rng(42);
  std::vector<nlohmann::json> cases;
  for (const char* metric : {"all", "part"}) {
    for (size_t i = 0; i < 600; ++i) {
      const nlohmann::json& row = niah[rng.below(niah.size())];
      std::vector<std::string> refs;
      if (std::string(metric) == "part" && rng.chance(50)) {
        refs = rng.pick(qa_refs);
      } else if (rng.chance(40)) {
        refs = row.at("outputs").get<std::vector<std::string>>();
      } else {
        size_t n = 1 + rng.below(4);
        for (size_t k = 0; k < n; ++k) refs.push_back(random_value(rng));
      }
      std::string pred = make_output(refs, row.at("input").get<std::string>(), rng);
      cases.push_back({{"id", std::string(metric) + "#" + std::to_string(i)}, {"metric", metric},
                       {"prediction", sanitize_utf8(pred)}, {"references", refs}});
    }
  }
  const std::string dir = test::tmp_dir();
  test::write_jsonl(dir + "/ruler_cases.jsonl", cases);
  ASSERT_TRUE(test::run_reference("ruler_reference.py", {dir + "/ruler_cases.jsonl", dir + "/ruler_out.jsonl"}));
  std::vector<nlohmann::json> out = test::read_jsonl(dir + "/ruler_out.jsonl");
  ASSERT_EQ(out.size(), cases.size() + 2);

  std::map<std::string, std::unique_ptr<Metric>> metrics;
  std::map<std::string, std::vector<double>> per_sample;
  for (const char* m : {"all", "part"}) {
    const auto* entry = MetricRegistry::instance().find(std::string("ruler.string_match_") + m);
    ASSERT_NE(entry, nullptr);
    metrics[m] = entry->make(default_params(entry->params));
  }
  std::map<std::string, std::set<double>> distinct;
  for (size_t i = 0; i < cases.size(); ++i) {
    const nlohmann::json& c = cases[i];
    const std::string m = c["metric"];
    Scores got = metrics[m]->score(c["prediction"], c["references"].get<std::vector<std::string>>(),
                                   nlohmann::json::object());
    double value = got.at("string_match_" + m);
    EXPECT_EQ(value, out[i]["score"].get<double>()) << c.dump();
    EXPECT_EQ(ruler_postprocess(c["prediction"]), out[i]["postprocessed"].get<std::string>()) << c.dump();
    per_sample[m].push_back(value);
    distinct[m].insert(value);
  }
  for (size_t g = 0; g < 2; ++g) {
    const nlohmann::json& row = out[cases.size() + g];
    EXPECT_EQ(ruler_task_score(per_sample[row["group"].get<std::string>()]), row["score"].get<double>())
        << row.dump();
    std::printf("[parity] ruler string_match_%s: 600 pairs, %zu distinct values, task score %.2f\n",
                row["group"].get<std::string>().c_str(), distinct[row["group"]].size(),
                row["score"].get<double>());
  }
  EXPECT_GE(distinct["all"].size(), 4u);
}

}  // namespace
}  // namespace kvbench
