// SPDX-License-Identifier: Apache-2.0
// Generator of synthetic Text2JSON samples (layout, distractors, sizing to the token target).
// Layout: header, then paragraphs filler_0, block_0, filler_1, ..., block_{B-1}, filler_B joined by
// blank lines, then footer. Blocks (entity descriptions, mentions, near misses) are shuffled; the
// W filler pieces are split evenly over the B + 1 gaps, and W is searched so that the problem has
// the target token count (secant steps on the measured count, then bisection if needed).
#include "datasets/text2json_synthetic.h"

#include "harness/pytext/python_random.h"
#include "datasets/text2json_domains.h"
#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/tokenizer/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace kvbench::text2json {
namespace {

uint64_t derive_seed(const SyntheticSpec& spec) {
  std::string hex = sha256_hex(str_cat(kGeneratorVersion, "|", spec.seed, "|", spec.domain, "|",
                                       spec.target_tokens, "|", spec.index));
  return std::stoull(hex.substr(0, 16), nullptr, 16);
}

std::string header(const Domain& d) {
  return str_cat("Read the text below and extract every ", d.singular(),
                 " for which the text states both its ", d.describe1(), " and its ", d.describe2(),
                 ". Skip ", d.plural(), " that are only mentioned without these details, and ignore "
                 "values that the text itself says are wrong.\n\nAnswer with a JSON list only. Each "
                 "element must be an object with exactly the keys \"name\", \"", d.key1(), "\" and \"",
                 d.key2(), "\"; every value is a string copied exactly as it appears in the text "
                 "(names without surrounding quotation marks).\n\nText:\n\n");
}

std::string footer(const Domain& d) {
  return str_cat("\n\nNow write the JSON list of all ", d.plural(), " in the text that have both a ",
                 d.describe1(), " and a ", d.describe2(), ", with keys \"name\", \"", d.key1(),
                 "\" and \"", d.key2(), "\".");
}

std::string near_miss_sentence(PythonRandom& rnd, const std::string& name, const std::string& what,
                               const std::string& wrong) {
  static const std::vector<std::string> templates = {
      "An early draft of this text gave the {v1} of {name} as {w}; that figure was a mistake.",
      "Contrary to a widely shared rumor, the {v1} of {name} is not {w}.",
      "One catalogue wrongly printed {w} as the {v1} of {name}.",
  };
  return fill(pick(rnd, templates), name, what, "", wrong);
}

std::string rstrip(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

std::vector<std::string> filler_pieces(const std::string& text) {
  std::vector<std::string> pieces;
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    pieces.push_back(text.substr(start, i - start));
  }
  return pieces;
}

SyntheticSample generate_sample(const SyntheticSpec& spec, const Tokenizer& tok,
                                const std::vector<std::string>& filler) {
  const Domain* domain = find_domain(spec.domain);
  KVBENCH_CHECK_CONFIG(domain != nullptr, "task.params.domains: unknown domain '", spec.domain,
                       "' (products, medical, organizations, movies)");
  KVBENCH_CHECK_CONFIG(!filler.empty(), "text2json.synthetic: empty filler text");
  SyntheticSample out;
  out.sample_seed = derive_seed(spec);
  PythonRandom rnd(out.sample_seed);

  const int n_entities = spec.entities > 0
                             ? spec.entities
                             : static_cast<int>(std::clamp<int64_t>(spec.target_tokens / 1000 + 2, 3, 35));
  out.mentions = std::max(1, n_entities / 3);
  out.near_misses = std::max(1, n_entities / 4);

  // Entities and mention-only names, all distinct.
  std::set<std::string> names;
  auto fresh_name = [&] {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      std::string name = domain->draw_name(rnd);
      if (names.insert(name).second) return name;
    }
    KVBENCH_FAIL(ErrorKind::kRun, "text2json.synthetic: ran out of distinct ", domain->id(), " names");
  };
  std::vector<Entity> entities;
  for (int i = 0; i < n_entities; ++i)
    entities.push_back({fresh_name(), domain->draw_value1(rnd), domain->draw_value2(rnd)});

  struct Block {
    std::string text;
    int entity = -1;  // index into entities for description blocks
  };
  std::vector<Block> blocks;
  for (int i = 0; i < n_entities; ++i) blocks.push_back({domain->describe_entity(rnd, entities[i]), i});
  for (int i = 0; i < out.mentions; ++i) blocks.push_back({domain->mention_only(rnd, fresh_name())});
  std::vector<size_t> missed = rnd.sample_indices(entities.size(), static_cast<size_t>(out.near_misses));
  for (size_t e : missed) {
    const bool first = rnd.randbelow(2) == 0;
    const Entity& entity = entities[e];
    std::string wrong = first ? domain->near_miss1(rnd, entity.value1) : domain->near_miss2(rnd, entity.value2);
    blocks.push_back({near_miss_sentence(rnd, entity.name, first ? domain->describe1() : domain->describe2(),
                                         wrong)});
  }
  // Fisher-Yates with PythonRandom (random.shuffle's algorithm).
  for (size_t i = blocks.size() - 1; i > 0; --i)
    std::swap(blocks[i], blocks[static_cast<size_t>(rnd.randbelow(i + 1))]);

  // Gold in document order.
  nlohmann::ordered_json gold = nlohmann::ordered_json::array();
  for (const auto& block : blocks) {
    if (block.entity < 0) continue;
    const Entity& e = entities[static_cast<size_t>(block.entity)];
    gold.push_back({{"name", e.name}, {domain->key1(), e.value1}, {domain->key2(), e.value2}});
  }
  out.answer = gold.dump();
  out.gold = nlohmann::json::parse(out.answer);

  const size_t filler_start = static_cast<size_t>(rnd.randbelow(filler.size()));
  const std::string head = header(*domain), foot = footer(*domain);
  const size_t gaps = blocks.size() + 1;
  auto build = [&](int64_t w) {
    std::string text = head;
    bool first_paragraph = true;
    auto add = [&](const std::string& paragraph) {
      if (paragraph.empty()) return;
      if (!first_paragraph) text += "\n\n";
      text += paragraph;
      first_paragraph = false;
    };
    for (size_t g = 0; g < gaps; ++g) {
      const int64_t lo = w * static_cast<int64_t>(g) / static_cast<int64_t>(gaps);
      const int64_t hi = w * static_cast<int64_t>(g + 1) / static_cast<int64_t>(gaps);
      std::string segment;
      for (int64_t p = lo; p < hi; ++p) segment += filler[(filler_start + static_cast<size_t>(p)) % filler.size()];
      add(rstrip(segment));
      if (g < blocks.size()) add(blocks[g].text);
    }
    return text + foot;
  };
  auto count = [&](int64_t w) { return static_cast<int64_t>(tok.encode(build(w), false).size()); };

  const int64_t target = spec.target_tokens;
  const int64_t base = count(0);
  const auto allowed = static_cast<int64_t>(std::floor(spec.tolerance * static_cast<double>(target)));
  KVBENCH_CHECK_CONFIG(base <= target + allowed, "text2json.synthetic: target_tokens ", target,
                       " is too small for ", n_entities, " ", domain->plural(), " (", base,
                       " tokens without filler); raise target_tokens or lower entities");
  int64_t best_w = 0, best_n = base;
  auto consider = [&](int64_t w, int64_t n) {
    if (std::llabs(n - target) < std::llabs(best_n - target)) best_w = w, best_n = n;
  };
  // Secant steps on (pieces -> tokens), starting from the filler's average tokens per piece.
  int64_t w = 0, n = base;
  double per_piece = 1.3;
  for (int step = 0; step < 12 && std::llabs(best_n - target) > std::max<int64_t>(1, allowed / 4); ++step) {
    int64_t next = std::max<int64_t>(0, w + std::llround(static_cast<double>(target - n) / per_piece));
    if (next == w) break;
    int64_t m = count(next);
    if (next != w && m != n) per_piece = std::max(0.2, static_cast<double>(m - n) / static_cast<double>(next - w));
    w = next, n = m;
    consider(w, n);
  }
  if (std::llabs(best_n - target) > allowed) {  // bisection for the largest w with count <= target
    int64_t lo = 0, hi = std::max<int64_t>(1, target);
    while (lo < hi) {
      int64_t mid = (lo + hi + 1) / 2;
      int64_t m = count(mid);
      consider(mid, m);
      if (m <= target) lo = mid; else hi = mid - 1;
    }
  }
  KVBENCH_CHECK(std::llabs(best_n - target) <= allowed, "text2json.synthetic: could not size the ",
                domain->id(), " sample to ", target, " tokens (closest ", best_n, ")");
  out.problem = build(best_w);
  out.prompt_tokens = best_n;
  return out;
}

}  // namespace kvbench::text2json
