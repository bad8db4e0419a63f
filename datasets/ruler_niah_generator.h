// SPDX-License-Identifier: Apache-2.0
// RULER NIAH sample generation (NVIDIA/RULER scripts/data/synthetic/niah.py generate_input_output),
// reproduced draw for draw with a CPython-exact random.Random: needle keys/values (7-digit numbers,
// adjective-noun words, uuid4 from getrandbits(128)), the needle shuffle (a fresh Random(seed) each
// call, as RULER does), the haystack (noise sentences or distractor needles, one per line, the real
// needles inserted at sampled lines; or essay words split into sentences by nltk's Punkt with
// the needles at sampled depths), the queried keys and the singular rewrite of the template.
#pragma once

#include "datasets/punkt.h"
#include "harness/pytext/python_random.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kvbench {

// One row of RULER's synthetic.yaml NIAH table.
struct RulerNiahVariant {
  std::string type_haystack;  // noise | essay | needle
  std::string type_needle_k;  // numbers | words | uuids
  std::string type_needle_v;
  int num_needle_k = 1;       // raised to num_needle_q, as niah.py does
  int num_needle_v = 1;
  int num_needle_q = 1;
};

// niah.py's `words`: sorted(set(adj + "-" + noun)) over wonderwords' adjectivelist.txt x
// nounlist.txt (lines read in text mode and rstrip()ed). Held as (adjective, noun) index pairs in
// sorted order (6,171,620 entries for the shipped lists), so random.choice(words) is one lookup.
class RulerWordKeys {
 public:
  static const RulerWordKeys& load(const std::filesystem::path& wonderwords_dir);
  size_t size() const { return order_.size(); }
  std::string at(size_t i) const;

 private:
  std::vector<std::string> adjectives_, nouns_;
  std::vector<uint32_t> order_;  // adjective index * nouns_.size() + noun index
};

// niah.py's essay haystack: re.sub(r"\s+", " ", essay).split(" ") over PaulGrahamEssays.json's
// "text" (Python's Unicode whitespace; empty pieces kept, as str.split(" ") does).
std::vector<std::string> ruler_essay_words(const std::string& essay_text);

// The essay haystack's inputs: its words and the sentence splitter (nltk.sent_tokenize).
struct RulerEssayHaystack {
  const std::vector<std::string>* words = nullptr;
  const PunktSentenceSplitter* splitter = nullptr;
};

struct RulerNiahOutput {
  std::string input_text;            // the whole formatted template (model wrapper + answer prefix)
  std::vector<std::string> answers;  // values of the queried keys, in query order
};

class RulerNiahGenerator {
 public:
  // `templ`: model template applied to the task template, answer prefix appended (prepare.py);
  // `needle`: "One of the special magic {type_needle_v} for {key} is: {value}.";
  // `words` is required when a needle type is "words", `essay` for the essay haystack.
  RulerNiahGenerator(RulerNiahVariant variant, std::string templ, std::string needle,
                     std::string noise_sentence, uint64_t seed, const RulerWordKeys* words,
                     RulerEssayHaystack essay = {});

  // generate_input_output(num_haystack): advances the shared random state like niah.py's global
  // `random` module.
  RulerNiahOutput generate(int64_t num_haystack);

 private:
  std::string random_value(const std::string& type);
  std::string format_needle(const std::string& key, const std::string& value) const;

  RulerNiahVariant variant_;
  std::string template_, needle_, noise_;
  uint64_t seed_;
  const RulerWordKeys* words_;
  RulerEssayHaystack essay_;
  PythonRandom rng_;
};

// uuid.UUID(int=bits, version=4) as text, bits = high:low (most significant 64 bits first).
std::string python_uuid4_string(uint64_t high, uint64_t low);

}  // namespace kvbench
