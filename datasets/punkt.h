// SPDX-License-Identifier: Apache-2.0
// nltk's Punkt sentence splitter at inference time (nltk 3.9.2 nltk/tokenize/punkt.py:
// PunktSentenceTokenizer.tokenize with realign_boundaries, PunktLanguageVars' regexes, the first-pass
// type annotation and the second-pass collocation / orthographic / sentence-starter heuristics),
// with a trained parameter set in nltk's punkt_tab text format. RULER's essay haystack splits with
// nltk.sent_tokenize, i.e. this tokenizer with the English punkt_tab parameters, which kvbench ships
// in datasets/prompts/punkt_english/.
// Unicode: \s / \S follow Python's str.isspace; word, digit and lower-case mapping follow Python's
// re and str.lower (harness/pytext/unicode_text.h); isupper / islower are exact for U+0000..U+00FF and
// approximated above that (upper: lower() changes it; lower: a Latin/Greek/Cyrillic letter lower()
// keeps).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace kvbench {

struct PunktParameters {
  std::unordered_set<std::string> abbrev_types;
  std::set<std::pair<std::string, std::string>> collocations;
  std::unordered_set<std::string> sent_starters;
  std::unordered_map<std::string, int> ortho_context;  // missing types count as 0
};

// load_punkt_params(dir): abbrev_types.txt, collocations.tab, sent_starters.txt, ortho_context.tab,
// lines read in text mode with one trailing "\n" removed (nltk.tabdata).
PunktParameters load_punkt_parameters(const std::filesystem::path& dir);

class PunktSentenceSplitter {
 public:
  explicit PunktSentenceSplitter(PunktParameters params);
  ~PunktSentenceSplitter();
  PunktSentenceSplitter(const PunktSentenceSplitter&) = delete;
  PunktSentenceSplitter& operator=(const PunktSentenceSplitter&) = delete;

  // tokenizer.tokenize(text): the sentences, as substrings of `text` (UTF-8).
  std::vector<std::string> tokenize(const std::string& text) const;

 private:
  struct Regexes;
  bool text_contains_sentbreak(const std::string& text) const;

  PunktParameters params_;
  std::unique_ptr<Regexes> re_;
};

}  // namespace kvbench
