// SPDX-License-Identifier: Apache-2.0
// RULER NIAH generation (see ruler_niah_generator.h): word keys, needle values, haystacks, queries.
#include "datasets/ruler_niah_generator.h"

#include "datasets/jsonl_reader.h"
#include "harness/pytext/python_text.h"
#include "harness/error.h"
#include "harness/pytext/unicode_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>

namespace kvbench {
namespace {

std::vector<std::string> word_file(const std::filesystem::path& path) {
  std::vector<std::string> words;
  for (const auto& line : python_readlines(read_text_file(path))) words.push_back(python_rstrip(line));
  return words;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  size_t at = 0;
  while ((at = s.find(from, at)) != std::string::npos) {
    s.replace(at, from.size(), to);
    at += to.size();
  }
  return s;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

const RulerWordKeys& RulerWordKeys::load(const std::filesystem::path& dir) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<RulerWordKeys>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[dir.string()];
  if (slot) return *slot;
  auto keys = std::make_unique<RulerWordKeys>();
  // set() semantics: duplicate list entries give duplicate pairs, removed below.
  std::vector<std::string> adjectives = word_file(dir / "adjectivelist.txt");
  std::vector<std::string> nouns = word_file(dir / "nounlist.txt");
  std::sort(nouns.begin(), nouns.end());
  nouns.erase(std::unique(nouns.begin(), nouns.end()), nouns.end());
  // Adjectives ordered by their "adj-" prefix. Strings of two adjectives whose prefixes are not
  // prefixes of one another order as those prefixes do; a cluster of prefix-related adjectives
  // ("well-", "well-known-") interleaves and is sorted string by string.
  for (auto& a : adjectives) a += "-";
  std::sort(adjectives.begin(), adjectives.end());
  adjectives.erase(std::unique(adjectives.begin(), adjectives.end()), adjectives.end());
  const size_t n_nouns = nouns.size();
  KVBENCH_CHECK_INPUT(static_cast<double>(adjectives.size()) * static_cast<double>(n_nouns) < 4294967296.0,
                      dir.string(), ": word lists too large");
  keys->order_.reserve(adjectives.size() * n_nouns);
  auto text = [&](uint32_t code) { return adjectives[code / n_nouns] + nouns[code % n_nouns]; };
  for (size_t i = 0; i < adjectives.size();) {
    size_t j = i + 1;
    while (j < adjectives.size() && starts_with(adjectives[j], adjectives[i])) ++j;
    if (j == i + 1) {
      for (size_t n = 0; n < n_nouns; ++n) keys->order_.push_back(static_cast<uint32_t>(i * n_nouns + n));
    } else {
      std::vector<std::pair<std::string, uint32_t>> cluster;
      for (size_t a = i; a < j; ++a)
        for (size_t n = 0; n < n_nouns; ++n) {
          auto code = static_cast<uint32_t>(a * n_nouns + n);
          cluster.emplace_back(text(code), code);
        }
      std::sort(cluster.begin(), cluster.end());
      for (size_t k = 0; k < cluster.size(); ++k)
        if (k == 0 || cluster[k].first != cluster[k - 1].first) keys->order_.push_back(cluster[k].second);
    }
    i = j;
  }
  keys->adjectives_ = std::move(adjectives);  // each with its trailing "-"
  keys->nouns_ = std::move(nouns);
  slot = std::move(keys);
  return *slot;
}

std::string RulerWordKeys::at(size_t i) const {
  const uint32_t code = order_.at(i);
  return adjectives_[code / nouns_.size()] + nouns_[code % nouns_.size()];
}

std::string python_uuid4_string(uint64_t high, uint64_t low) {
  low &= ~(0xc000ULL << 48);  // variant RFC 4122
  low |= 0x8000ULL << 48;
  high &= ~0xf000ULL;         // version 4 (bits 76..79 of the 128-bit integer)
  high |= 0x4000ULL;
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx", static_cast<unsigned long long>(high),
                static_cast<unsigned long long>(low));
  const std::string h(hex);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20);
}

std::vector<std::string> ruler_essay_words(const std::string& essay_text) {
  const std::u32string text = utf8_to_u32(essay_text);
  std::vector<std::string> words(1);
  for (size_t i = 0; i < text.size();) {
    if (py_re_is_space(text[i])) {
      while (i < text.size() && py_re_is_space(text[i])) ++i;
      words.emplace_back();
    } else {
      words.back() += u32_to_utf8(std::u32string(1, text[i]));
      ++i;
    }
  }
  return words;
}

RulerNiahGenerator::RulerNiahGenerator(RulerNiahVariant variant, std::string templ, std::string needle,
                                       std::string noise_sentence, uint64_t seed,
                                       const RulerWordKeys* words, RulerEssayHaystack essay)
    : variant_(std::move(variant)),
      template_(std::move(templ)),
      needle_(std::move(needle)),
      noise_(std::move(noise_sentence)),
      seed_(seed),
      words_(words),
      essay_(essay),
      rng_(seed) {
  variant_.num_needle_k = std::max(variant_.num_needle_k, variant_.num_needle_q);
  for (const auto* type : {&variant_.type_needle_k, &variant_.type_needle_v})
    KVBENCH_CHECK_CONFIG(*type == "numbers" || *type == "words" || *type == "uuids",
                         "RULER NIAH: needle type '", *type, "' is not numbers, words or uuids");
  KVBENCH_CHECK_CONFIG(variant_.type_haystack == "noise" || variant_.type_haystack == "needle" ||
                           variant_.type_haystack == "essay",
                       "RULER NIAH: haystack '", variant_.type_haystack, "' is not noise, needle or essay");
  KVBENCH_ASSERT(variant_.type_haystack != "essay" || (essay_.words != nullptr && essay_.splitter != nullptr),
                 "essay haystack not loaded");
  KVBENCH_ASSERT(words_ != nullptr || (variant_.type_needle_k != "words" && variant_.type_needle_v != "words"),
                 "word keys not loaded");
}

std::string RulerNiahGenerator::random_value(const std::string& type) {
  if (type == "numbers") return std::to_string(1000000 + rng_.randbelow(9000000));  // randint(10**6, 10**7-1)
  if (type == "words") return words_->at(static_cast<size_t>(rng_.randbelow(words_->size())));
  // uuid4 from getrandbits(128): 32-bit words fill from the least significant end.
  uint64_t w[4];
  for (auto& x : w) x = rng_.next_uint32();
  return python_uuid4_string(w[2] | (w[3] << 32), w[0] | (w[1] << 32));
}

std::string RulerNiahGenerator::format_needle(const std::string& key, const std::string& value) const {
  return python_format(needle_, {{"type_needle_v", variant_.type_needle_v}, {"key", key}, {"value", value}},
                       "RULER needle");
}

RulerNiahOutput RulerNiahGenerator::generate(int64_t num_haystack) {
  const RulerNiahVariant& v = variant_;
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> values;
  std::vector<std::string> needles;
  for (int k = 0; k < v.num_needle_k; ++k) {
    keys.push_back(random_value(v.type_needle_k));
    values.emplace_back();
    for (int j = 0; j < v.num_needle_v; ++j) {
      values.back().push_back(random_value(v.type_needle_v));
      needles.push_back(format_needle(keys.back(), values.back().back()));
    }
  }
  PythonRandom shuffle_rng(seed_);  // random.Random(args.random_seed).shuffle(needles)
  python_shuffle(needles, shuffle_rng);

  std::string context;
  if (v.type_haystack == "essay") {
    // Words (repeated when more are needed), split into sentences, needles at sampled depths.
    const std::vector<std::string>& hay = *essay_.words;
    std::string text;
    for (int64_t i = 0; i < num_haystack; ++i) {
      if (i) text += ' ';
      text += hay[static_cast<size_t>(i) % hay.size()];
    }
    const std::vector<std::string> sents = essay_.splitter->tokenize(py_strip_utf8(text));
    // DEPTHS = np.round(np.linspace(0, 100, 40)).astype(int)
    std::vector<int64_t> depths;
    for (int i = 0; i < 40; ++i)
      depths.push_back(i == 39 ? 100 : static_cast<int64_t>(std::nearbyint(i * (100.0 / 39))));
    KVBENCH_CHECK_CONFIG(needles.size() <= depths.size(), "RULER NIAH: more needles than depths");
    std::vector<size_t> positions;
    for (size_t d : rng_.sample_indices(depths.size(), needles.size()))
      positions.push_back(static_cast<size_t>(static_cast<double>(sents.size()) *
                                              (static_cast<double>(depths[d]) / 100)));
    std::sort(positions.begin(), positions.end());
    positions.insert(positions.begin(), 0);
    positions.push_back(sents.size());
    std::vector<std::string> parts;
    for (size_t i = 1; i < positions.size(); ++i) {
      std::string joined;
      for (size_t k = positions[i - 1]; k < positions[i]; ++k) joined += (k > positions[i - 1] ? " " : "") + sents[k];
      parts.push_back(joined);
      if (i - 1 < needles.size()) parts.push_back(needles[i - 1]);
    }
    for (size_t i = 0; i < parts.size(); ++i) context += (i ? " " : "") + parts[i];
  } else {
    std::vector<std::string> sentences;
    sentences.reserve(static_cast<size_t>(num_haystack) + needles.size());
    for (int64_t i = 0; i < num_haystack; ++i) {
      if (v.type_haystack == "noise") {
        sentences.push_back(noise_);
      } else {
        std::string key = random_value(v.type_needle_k);
        std::string value = random_value(v.type_needle_v);
        sentences.push_back(format_needle(key, value));
      }
    }
    KVBENCH_CHECK_CONFIG(static_cast<size_t>(num_haystack) >= needles.size(), "RULER NIAH: ", num_haystack,
                         " haystack lines cannot hold ", needles.size(), " needles");
    std::vector<size_t> indexes = rng_.sample_indices(static_cast<size_t>(num_haystack), needles.size());
    std::sort(indexes.rbegin(), indexes.rend());  // sorted(..., reverse=True)
    for (size_t i = 0; i < indexes.size(); ++i)
      sentences.insert(sentences.begin() + static_cast<std::ptrdiff_t>(indexes[i]), needles[i]);
    for (size_t i = 0; i < sentences.size(); ++i) context += (i ? "\n" : "") + sentences[i];
  }

  std::vector<size_t> picked = rng_.sample_indices(static_cast<size_t>(v.num_needle_k),
                                                   static_cast<size_t>(v.num_needle_q));
  RulerNiahOutput out;
  std::vector<std::string> queries;
  for (size_t i : picked) {
    queries.push_back(keys[i]);
    for (const auto& a : values[i]) out.answers.push_back(a);
  }
  std::string query = queries.back();
  if (queries.size() > 1) {
    query.clear();
    for (size_t i = 0; i + 1 < queries.size(); ++i) query += (i ? ", " : "") + queries[i];
    query += ", and " + queries.back();
  }

  std::string templ = template_;
  std::string type_v = v.type_needle_v;
  if (v.num_needle_q * v.num_needle_v == 1) {
    templ = replace_all(templ, "Some", "A");
    templ = replace_all(templ, "are all", "is");
    templ = replace_all(templ, "are", "is");
    templ = replace_all(templ, "answers", "answer");
    type_v.pop_back();  // "numbers" -> "number"
  }
  out.input_text = python_format(templ, {{"type_needle_v", type_v}, {"context", context}, {"query", query}},
                                 "RULER NIAH template");
  return out;
}

}  // namespace kvbench
