// SPDX-License-Identifier: Apache-2.0
// jieba.cut(cut_all=False, HMM=True) in C++ (see jieba_segmenter.h). Every tie-break and floating-point
// operation order follows the Python package so the segmentation is identical.
#include "metrics/jieba_segmenter.h"

#include "harness/source_dir.h"

#include "harness/error.h"
#include "harness/pytext/unicode_text.h"

#include <zlib.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>

namespace kvbench {
namespace {

constexpr double kMinFloat = -3.14e100;  // finalseg.MIN_FLOAT
enum State { kB = 0, kM = 1, kE = 2, kS = 3 };
const char kStateNames[] = "BMES";

std::string read_gzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  KVBENCH_CHECK_INPUT(file != nullptr, path, ": cannot open jieba data file");
  std::string data;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) data.append(buffer, n);
  bool ok = n == 0;
  gzclose(file);
  KVBENCH_CHECK_INPUT(ok, path, ": corrupt gzip data");
  return data;
}

int state_index(const std::string& name, const std::string& where) {
  for (int s = 0; s < 4; ++s)
    if (name.size() == 1 && name[0] == kStateNames[s]) return s;
  KVBENCH_FAIL(ErrorKind::kInput, where, ": unknown HMM state '", name, "'");
}

// jieba.__init__.re_han_default: [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]
bool is_han_default(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FD5) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '#' || c == '&' || c == '.' || c == '_' ||
         c == '%' || c == '-';
}
bool is_han(char32_t c) { return c >= 0x4E00 && c <= 0x9FD5; }  // finalseg.re_han
bool is_ascii_alnum(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

JiebaSegmenter::JiebaSegmenter(const std::string& data_dir) {
  // gen_pfdict: each stripped line is "word freq [tag]"; FREQ[word] = freq (a later duplicate
  // overwrites, total counts both); every prefix missing from FREQ gets 0.
  const std::string dict_path = data_dir + "/dict.txt.gz";
  std::string dict = read_gzip(dict_path);
  freq_.reserve(700000);
  size_t pos = 0;
  int line_no = 0;
  while (pos < dict.size()) {
    size_t end = dict.find('\n', pos);
    if (end == std::string::npos) end = dict.size();
    std::string line = dict.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::u32string text = py_strip(utf8_to_u32(line));
    size_t sp1 = text.find(U' ');
    KVBENCH_CHECK_INPUT(sp1 != std::u32string::npos, dict_path, ":", line_no,
                        ": invalid dictionary entry (expected 'word freq')");
    size_t sp2 = text.find(U' ', sp1 + 1);
    std::u32string word = text.substr(0, sp1);
    std::string freq_text = u32_to_utf8(text.substr(sp1 + 1, sp2 == std::u32string::npos
                                                                 ? std::u32string::npos
                                                                 : sp2 - sp1 - 1));
    char* parse_end = nullptr;
    long long value = std::strtoll(freq_text.c_str(), &parse_end, 10);
    KVBENCH_CHECK_INPUT(!freq_text.empty() && *parse_end == '\0', dict_path, ":", line_no,
                        ": invalid frequency '", freq_text, "'");
    freq_[word] = value;
    total_ += value;
    for (size_t k = 1; k <= word.size(); ++k) freq_.emplace(word.substr(0, k), 0);
  }

  for (int a = 0; a < 4; ++a) {
    hmm_.start[a] = kMinFloat;
    for (int b = 0; b < 4; ++b) hmm_.trans[a][b] = kMinFloat;
  }
  const std::string hmm_path = data_dir + "/hmm.tsv.gz";
  std::istringstream hmm(read_gzip(hmm_path));
  std::string line;
  line_no = 0;
  while (std::getline(hmm, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::istringstream split(line);
    std::string field;
    while (std::getline(split, field, '\t')) fields.push_back(field);
    const std::string where = hmm_path + ":" + std::to_string(line_no);
    KVBENCH_CHECK_INPUT(fields.size() >= 3, where, ": expected tab-separated fields");
    double value = std::strtod(fields.back().c_str(), nullptr);
    if (fields[0] == "start" && fields.size() == 3) {
      hmm_.start[state_index(fields[1], where)] = value;
    } else if (fields[0] == "trans" && fields.size() == 4) {
      hmm_.trans[state_index(fields[1], where)][state_index(fields[2], where)] = value;
    } else if (fields[0] == "emit" && fields.size() == 4) {
      char32_t c = static_cast<char32_t>(std::strtoul(fields[2].c_str(), nullptr, 16));
      hmm_.emit[state_index(fields[1], where)][c] = value;
    } else {
      KVBENCH_FAIL(ErrorKind::kInput, where, ": unknown record '", fields[0], "'");
    }
  }
}

const JiebaSegmenter& JiebaSegmenter::default_instance() {
  static std::once_flag once;
  static std::unique_ptr<JiebaSegmenter> instance;
  std::call_once(once, [] {
    const char* env = std::getenv("KVBENCH_JIEBA_DIR");
    std::string dir = (env && *env) ? std::string(env)
                                    : source_dir() + "/metrics/data/jieba";
    instance = std::make_unique<JiebaSegmenter>(dir);
  });
  return *instance;
}

int64_t JiebaSegmenter::freq(const std::u32string& word) const {
  auto it = freq_.find(word);
  return it == freq_.end() ? 0 : it->second;
}

bool JiebaSegmenter::has_prefix(const std::u32string& word) const {
  return freq_.count(word) != 0;
}

std::vector<std::u32string> JiebaSegmenter::cut(const std::u32string& text) const {
  // re_han_default.split(): maximal runs of han-default characters are cut by the DAG; the rest is
  // split by re_skip_default "(\r\n|\s)": whitespace tokens ("\r\n" as one) are yielded as they
  // are, every other character on its own.
  std::vector<std::u32string> out;
  size_t i = 0, n = text.size();
  while (i < n) {
    size_t j = i;
    if (is_han_default(text[i])) {
      while (j < n && is_han_default(text[j])) ++j;
      cut_dag(text.substr(i, j - i), &out);
    } else {
      while (j < n && !is_han_default(text[j])) ++j;
      for (size_t k = i; k < j;) {
        if (text[k] == U'\r' && k + 1 < j && text[k + 1] == U'\n') {
          out.emplace_back(U"\r\n");
          k += 2;
        } else {
          out.emplace_back(1, text[k]);
          ++k;
        }
      }
    }
    i = j;
  }
  return out;
}

void JiebaSegmenter::cut_dag(const std::u32string& sentence, std::vector<std::u32string>* out) const {
  const size_t n = sentence.size();
  // get_DAG: for each start k, every end i whose fragment has a nonzero frequency, while the
  // fragment stays a known prefix; [k] when none.
  std::vector<std::vector<size_t>> dag(n);
  for (size_t k = 0; k < n; ++k) {
    size_t i = k;
    std::u32string frag(1, sentence[k]);
    while (i < n && has_prefix(frag)) {
      if (freq(frag) != 0) dag[k].push_back(i);
      ++i;
      if (i < n) frag.push_back(sentence[i]);
    }
    if (dag[k].empty()) dag[k].push_back(k);
  }
  // calc: route[idx] = max over x of (log(FREQ[idx..x] or 1) - log(total) + route[x+1], x); ties go
  // to the larger x, as Python's tuple comparison does.
  std::vector<double> best(n + 1, 0.0);
  std::vector<size_t> best_end(n + 1, 0);
  const double log_total = std::log(static_cast<double>(total_));
  for (size_t idx = n; idx-- > 0;) {
    bool first = true;
    for (size_t x : dag[idx]) {
      int64_t f = freq(sentence.substr(idx, x - idx + 1));
      double value = std::log(static_cast<double>(f != 0 ? f : 1)) - log_total + best[x + 1];
      if (first || value > best[idx] || (value == best[idx] && x > best_end[idx])) {
        best[idx] = value;
        best_end[idx] = x;
        first = false;
      }
    }
  }
  // __cut_DAG: single-character words accumulate in buf; a multi-character buf unknown to the
  // dictionary goes through the HMM, a known one is emitted character by character.
  std::u32string buf;
  auto flush = [&]() {
    if (buf.empty()) return;
    if (buf.size() == 1) {
      out->push_back(buf);
    } else if (freq(buf) == 0) {
      cut_hmm_block(buf, out);
    } else {
      for (char32_t c : buf) out->emplace_back(1, c);
    }
    buf.clear();
  };
  size_t x = 0;
  while (x < n) {
    size_t y = best_end[x] + 1;
    if (y - x == 1) {
      buf.push_back(sentence[x]);
    } else {
      flush();
      out->push_back(sentence.substr(x, y - x));
    }
    x = y;
  }
  flush();
}

void JiebaSegmenter::cut_hmm_block(const std::u32string& sentence,
                                   std::vector<std::u32string>* out) const {
  // finalseg.cut: han runs go through Viterbi; other text is split by
  // re_skip "([a-zA-Z0-9]+(?:\.\d+)?%?)" and every non-empty piece is yielded.
  size_t i = 0, n = sentence.size();
  while (i < n) {
    size_t j = i;
    if (is_han(sentence[i])) {
      while (j < n && is_han(sentence[j])) ++j;
      viterbi(sentence.substr(i, j - i), out);
      i = j;
      continue;
    }
    while (j < n && !is_han(sentence[j])) ++j;
    // Non-han segment [i, j): alternate gaps and skip-regex matches.
    size_t k = i, gap_start = i;
    while (k < j) {
      if (!is_ascii_alnum(sentence[k])) {
        ++k;
        continue;
      }
      size_t m = k;
      while (m < j && is_ascii_alnum(sentence[m])) ++m;
      // The block only holds re_han_default characters, so \d is ASCII here.
      if (m + 1 < j && sentence[m] == U'.' && sentence[m + 1] >= U'0' && sentence[m + 1] <= U'9') {
        m += 1;
        while (m < j && sentence[m] >= U'0' && sentence[m] <= U'9') ++m;
      }
      if (m < j && sentence[m] == U'%') ++m;
      if (k > gap_start) out->push_back(sentence.substr(gap_start, k - gap_start));
      out->push_back(sentence.substr(k, m - k));
      k = m;
      gap_start = m;
    }
    if (j > gap_start) out->push_back(sentence.substr(gap_start, j - gap_start));
    i = j;
  }
}

void JiebaSegmenter::viterbi(const std::u32string& obs, std::vector<std::u32string>* out) const {
  // PrevStatus: B <- {E, S}, M <- {M, B}, S <- {S, E}, E <- {B, M}; max over (prob, state) tuples,
  // so equal probabilities go to the larger state letter.
  static const int kPrev[4][2] = {{kE, kS}, {kM, kB}, {kB, kM}, {kS, kE}};
  auto emit = [&](int s, char32_t c) {
    auto it = hmm_.emit[s].find(c);
    return it == hmm_.emit[s].end() ? kMinFloat : it->second;
  };
  const size_t n = obs.size();
  std::vector<std::array<double, 4>> v(n);
  std::vector<std::array<int, 4>> back(n);
  for (int y = 0; y < 4; ++y) v[0][y] = hmm_.start[y] + emit(y, obs[0]);
  for (size_t t = 1; t < n; ++t) {
    for (int y = 0; y < 4; ++y) {
      double em = emit(y, obs[t]);
      int best_state = -1;
      double best_prob = 0.0;
      for (int y0 : kPrev[y]) {
        double prob = v[t - 1][y0] + hmm_.trans[y0][y] + em;
        if (best_state < 0 || prob > best_prob ||
            (prob == best_prob && kStateNames[y0] > kStateNames[best_state])) {
          best_prob = prob;
          best_state = y0;
        }
      }
      v[t][y] = best_prob;
      back[t][y] = best_state;
    }
  }
  // Final state: max over (V[E], 'E'), (V[S], 'S').
  int state = v[n - 1][kS] >= v[n - 1][kE] ? kS : kE;
  std::vector<int> path(n);
  for (size_t t = n; t-- > 0;) {
    path[t] = state;
    if (t > 0) state = back[t][state];
  }
  size_t begin = 0, next = 0;
  for (size_t i = 0; i < n; ++i) {
    if (path[i] == kB) {
      begin = i;
    } else if (path[i] == kE) {
      out->push_back(obs.substr(begin, i - begin + 1));
      next = i + 1;
    } else if (path[i] == kS) {
      out->emplace_back(1, obs[i]);
      next = i + 1;
    }
  }
  if (next < n) out->push_back(obs.substr(next));
}

}  // namespace kvbench
