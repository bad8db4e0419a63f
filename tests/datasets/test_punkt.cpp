// SPDX-License-Identifier: Apache-2.0
// The Punkt port (datasets/punkt.h) splits like nltk's sent_tokenize with the same English
// parameters, on hand-written edge cases (abbreviations, initials, numbers, ellipses, quotes and
// brackets after a period, paragraphs, non-ASCII) and on slices of the RULER essay haystack.
#include "datasets/jsonl_reader.h"
#include "datasets/punkt.h"
#include "datasets/ruler_niah_generator.h"
#include "datasets/task_files.h"
#include "tests/datasets/task_test_support.h"

namespace kvbench {
namespace {

TEST(Punkt, SentencesEqualNltkSentTokenize) {
  std::vector<std::string> texts = {
      "Mr. Smith went to Washington. He arrived on Jan. 5th at 3 p.m. and left.",
      "The U.S.A. is large. So is Canada! Is it? Yes.",
      "J. S. Bach wrote music. Then he died in 1750. The end.",
      "He said \"Stop.\" Then he left. (This is an aside.) Another sentence.",
      "Wait... what happened? Nothing... Really. It was 3.5 percent, i.e. small.",
      "First paragraph ends here.\n\nSecond paragraph starts here. And continues.\nA new line.",
      "See e.g. the figure. Prices rose 5.2% in Q1. Dr. No was there.",
      "Caf\u00e9 owners protested.  The \u00e9lite disagreed. \u00c9mile agreed!  Done",
      "No terminal punctuation here",
      "Numbers like 1. and 2. in a list. 3. Another item.",
      "She said 'hello.' He replied 'goodbye.' [Bracketed.] {Braced.} End.",
      "Ellipsis. . . then more. Hyphen--dash. Gen. Grant won.",
      "",
      "   Leading spaces. Trailing spaces.   ",
  };
  const std::string essay_text = [] {
    nlohmann::json essay = nlohmann::json::parse(read_text_file(testing::data_dir() / "niah/ruler/PaulGrahamEssays.json.gz"));
    return essay["text"].get<std::string>();
  }();
  const std::vector<std::string> words = ruler_essay_words(essay_text);
  for (size_t start : {0u, 25000u, 180000u, 400000u}) {
    std::string text;
    for (size_t i = start; i < start + 4000 && i < words.size(); ++i) text += (i > start ? " " : "") + words[i];
    texts.push_back(text);
  }
  texts.push_back(essay_text.substr(0, 20000));  // raw essay text: newlines, paragraphs, \xa0

  const auto dir = testing::scratch_dir("punkt");
  testing::write_file(dir / "texts.json", nlohmann::json(texts).dump());
  ASSERT_EQ(testing::run_python((testing::source_dir() / "scripts/reference/punkt_reference.py").string() + " " +
                                (dir / "texts.json").string() + " " + (dir / "out.json").string()),
            0);
  const nlohmann::json ref = testing::read_json(dir / "out.json");
  ASSERT_EQ(ref.size(), texts.size());
  PunktSentenceSplitter splitter(load_punkt_parameters(prompt_file("punkt_english")));
  size_t sentences = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto got = splitter.tokenize(texts[i]);
    EXPECT_EQ(got, ref[i].get<std::vector<std::string>>()) << "text " << i << ": " << texts[i].substr(0, 80);
    sentences += got.size();
  }
  EXPECT_GT(sentences, 500u);
}

TEST(Punkt, ParametersLoad) {
  PunktParameters p = load_punkt_parameters(prompt_file("punkt_english"));
  EXPECT_EQ(p.abbrev_types.size(), 156u);
  EXPECT_EQ(p.collocations.size(), 37u);
  EXPECT_EQ(p.sent_starters.size(), 39u);
  EXPECT_EQ(p.ortho_context.size(), 20366u);
  EXPECT_TRUE(p.abbrev_types.count(". . "));
  EXPECT_TRUE(p.collocations.count({"##number##", "international"}));
}

}  // namespace
}  // namespace kvbench
