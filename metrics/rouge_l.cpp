// SPDX-License-Identifier: Apache-2.0
// Port of the `rouge` 1.0.1 package's scores with its default settings (see rouge_l.h).
#include "metrics/rouge_l.h"

#include "harness/pytext/unicode_text.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace kvbench {
namespace {

using Words = std::vector<int>;  // word ids (equal ids <=> equal words)

class Vocabulary {
 public:
  int id(const std::u32string& word) {
    auto it = ids_.emplace(word, static_cast<int>(ids_.size())).first;
    return it->second;
  }

 private:
  std::map<std::u32string, int> ids_;
};

// hyp.split(".") keeping non-empty pieces, each whitespace-normalized (" ".join(piece.split())).
std::vector<std::u32string> split_sentences(const std::u32string& text) {
  std::vector<std::u32string> out;
  size_t start = 0;
  while (true) {
    size_t dot = text.find(U'.', start);
    size_t end = dot == std::u32string::npos ? text.size() : dot;
    if (end > start) {
      std::u32string joined;
      for (const std::u32string& w : py_split_whitespace(text.substr(start, end - start))) {
        if (!joined.empty()) joined.push_back(U' ');
        joined += w;
      }
      out.push_back(joined);
    }
    if (dot == std::u32string::npos) break;
    start = dot + 1;
  }
  return out;
}

// sentence.split(" "): exact single-space separation, empty pieces kept.
Words split_words(const std::u32string& sentence, Vocabulary* vocab) {
  Words out;
  size_t start = 0;
  while (true) {
    size_t sp = sentence.find(U' ', start);
    size_t end = sp == std::u32string::npos ? sentence.size() : sp;
    out.push_back(vocab->id(sentence.substr(start, end - start)));
    if (sp == std::u32string::npos) break;
    start = sp + 1;
  }
  return out;
}

Words concat(const std::vector<Words>& sentences) {
  Words out;
  for (const Words& s : sentences) out.insert(out.end(), s.begin(), s.end());
  return out;
}

double f_score(double p, double r) { return 2.0 * ((p * r) / (p + r + 1e-8)); }

double rouge_n_f(const std::vector<Words>& hyp, const std::vector<Words>& ref, size_t n) {
  auto ngrams = [n](const Words& words) {
    std::set<std::vector<int>> out;
    for (size_t i = 0; i + n <= words.size(); ++i)
      out.emplace(words.begin() + i, words.begin() + i + n);
    return out;
  };
  std::set<std::vector<int>> h = ngrams(concat(hyp)), r = ngrams(concat(ref));
  size_t overlap = 0;
  for (const auto& g : h) overlap += r.count(g);
  double p = h.empty() ? 0.0 : static_cast<double>(overlap) / static_cast<double>(h.size());
  double rc = r.empty() ? 0.0 : static_cast<double>(overlap) / static_cast<double>(r.size());
  return f_score(p, rc);
}

// _recon_lcs(x, y): the words of x on the package's LCS traceback (a match steps diagonally; else
// it moves up only when table[i-1][j] > table[i][j-1]). Returns false when the recursive Python
// version would need more than `max_steps` nested calls (max_steps > 0).
bool recon_lcs(const Words& x, const Words& y, int max_steps, std::set<int>* tokens) {
  const size_t n = x.size(), m = y.size();
  std::vector<int32_t> table((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> int32_t& { return table[i * (m + 1) + j]; };
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j)
      at(i, j) = x[i - 1] == y[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
  size_t i = n, j = m;
  long steps = 0;
  while (i > 0 && j > 0) {
    ++steps;
    if (x[i - 1] == y[j - 1]) {
      tokens->insert(x[i - 1]);
      --i, --j;
    } else if (at(i - 1, j) > at(i, j - 1)) {
      --i;
    } else {
      --j;
    }
  }
  // Nested _recon calls: one per step plus the final call that hits i == 0 or j == 0.
  return max_steps <= 0 || steps + 1 <= max_steps;
}

}  // namespace

std::optional<RougeScores> rouge_get_scores(const std::u32string& hypothesis,
                                            const std::u32string& reference,
                                            int max_recursion_steps) {
  std::vector<std::u32string> hyp_text = split_sentences(hypothesis);
  std::vector<std::u32string> ref_text = split_sentences(reference);
  // rouge_n raises "Hypothesis is empty." / "Reference is empty."; rouge-l raises likewise.
  if (hyp_text.empty() || ref_text.empty()) return std::nullopt;
  Vocabulary vocab;
  std::vector<Words> hyp, ref;
  for (const auto& s : hyp_text) hyp.push_back(split_words(s, &vocab));
  for (const auto& s : ref_text) ref.push_back(split_words(s, &vocab));

  RougeScores scores;
  scores.rouge1_f = rouge_n_f(hyp, ref, 1);
  scores.rouge2_f = rouge_n_f(hyp, ref, 2);

  // Summary-level ROUGE-L with exclusive (set) counts: m, n = distinct words of reference and
  // hypothesis; llcs = size of the union of the LCS word sets over every (ref, hyp) sentence pair.
  Words ref_all = concat(ref), hyp_all = concat(hyp);
  size_t m = std::set<int>(ref_all.begin(), ref_all.end()).size();
  size_t n = std::set<int>(hyp_all.begin(), hyp_all.end()).size();
  std::set<int> lcs_union;
  for (const Words& r : ref)
    for (const Words& h : hyp)
      if (!recon_lcs(r, h, max_recursion_steps, &lcs_union)) return std::nullopt;
  double llcs = static_cast<double>(lcs_union.size());
  scores.rougel_r = llcs / static_cast<double>(m);
  scores.rougel_p = llcs / static_cast<double>(n);
  scores.rougel_f = f_score(scores.rougel_p, scores.rougel_r);
  return scores;
}

}  // namespace kvbench
