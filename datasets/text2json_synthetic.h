// SPDX-License-Identifier: Apache-2.0
// Synthetic Text2JSON-style samples: a long document (instruction + text) sized to a target number
// of tokens of the evaluated model, describing entities of one domain (name + two attributes) in
// varied prose, interleaved with distractors (entities mentioned without attributes, near-miss
// values the text marks as wrong) and filler paragraphs from the Paul Graham essays. The gold is
// the JSON list of the described entities. Deterministic in (seed, domain, target, index).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kvbench {

class Tokenizer;

namespace text2json {

constexpr const char* kGeneratorVersion = "text2json.synthetic/1";

struct SyntheticSpec {
  std::string domain;        // products | medical | organizations | movies
  int64_t target_tokens = 0; // tokens of the whole problem text (no special tokens, no template)
  uint64_t seed = 0;
  int index = 0;             // sample index within (domain, target)
  int entities = 0;          // described entities; 0: clamp(target / 1000 + 2, 3, 35)
  double tolerance = 0.02;   // accepted |tokens - target| / target
};

struct SyntheticSample {
  std::string problem;       // the single user turn
  std::string answer;        // gold: JSON list of {"name", key1, key2}, in document order
  nlohmann::json gold;       // the same list as JSON
  int64_t prompt_tokens = 0;
  uint64_t sample_seed = 0;  // the PythonRandom seed derived from (seed, domain, target, index)
  int mentions = 0;          // entities mentioned without attributes
  int near_misses = 0;       // wrong values stated as wrong
};

// Filler source: the essays' text split into words with their trailing whitespace.
std::vector<std::string> filler_pieces(const std::string& essays_text);

// Throws kConfig when the target is too small for the entities and instruction, kRun when the
// length cannot be reached within the tolerance.
SyntheticSample generate_sample(const SyntheticSpec& spec, const Tokenizer& tokenizer,
                                const std::vector<std::string>& filler);

}  // namespace text2json
}  // namespace kvbench
