// SPDX-License-Identifier: Apache-2.0
// Punkt sentence splitting (see punkt.h): regexes over PCRE2 with Python's whitespace class, token
// annotation passes, end-context matching and boundary realignment as nltk 3.9.2 does them.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "datasets/punkt.h"

#include "datasets/jsonl_reader.h"
#include "harness/pytext/python_text.h"
#include "harness/error.h"
#include "harness/pytext/unicode_text.h"

#include <pcre2.h>

namespace kvbench {
namespace {

constexpr int kOrthoBegUc = 1 << 1, kOrthoMidUc = 1 << 2, kOrthoUnkUc = 1 << 3;
constexpr int kOrthoBegLc = 1 << 4, kOrthoMidLc = 1 << 5, kOrthoUnkLc = 1 << 6;
constexpr int kOrthoUc = kOrthoBegUc + kOrthoMidUc + kOrthoUnkUc;
constexpr int kOrthoLc = kOrthoBegLc + kOrthoMidLc + kOrthoUnkLc;

// Python's str.isspace set (Unicode 14), as a PCRE2 class body.
const std::string kSpaceChars =
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}"
    "\\x{202f}\\x{205f}\\x{3000}";
const std::string kWs = "[" + kSpaceChars + "]";
const std::string kNws = "[^" + kSpaceChars + "]";
const std::string kMultiChar = "(?:\\-{2,}|\\.{2,}|(?:\\." + kWs + "){2,}\\.)";
const std::string kNonWord = "(?:[)\\\";}\\]\\*:@\\'\\({\\[!?])";
const std::string kWordStart = "[^\\(\\\"\\`{\\[:;&\\#\\*@\\)}\\]\\-,]";

class Pcre {
 public:
  Pcre(const std::string& pattern, uint32_t options) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
    pcre2_set_newline(context, PCRE2_NEWLINE_LF);
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP | options, &error, &offset, context);
    pcre2_compile_context_free(context);
    KVBENCH_ASSERT(code_ != nullptr, "Punkt regex does not compile at offset ", offset, ": ", pattern);
    data_ = pcre2_match_data_create_from_pattern(code_, nullptr);
  }
  ~Pcre() {
    pcre2_match_data_free(data_);
    pcre2_code_free(code_);
  }
  Pcre(const Pcre&) = delete;
  Pcre& operator=(const Pcre&) = delete;

  // Match at or after `start` (anchored: only at `start`); false when none. Group i spans
  // [begin(i), end(i)), PCRE2_UNSET when it did not participate.
  bool match(const std::string& text, size_t start, bool anchored = false) const {
    int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                         anchored ? PCRE2_ANCHORED : 0, data_, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    KVBENCH_ASSERT(rc > 0, "Punkt regex match failed (", rc, ")");
    return true;
  }
  size_t begin(int group) const { return pcre2_get_ovector_pointer(data_)[2 * group]; }
  size_t end(int group) const { return pcre2_get_ovector_pointer(data_)[2 * group + 1]; }
  bool has(int group) const { return begin(group) != PCRE2_UNSET; }

 private:
  pcre2_code* code_ = nullptr;
  pcre2_match_data* data_ = nullptr;
};

bool py_isupper_char(char32_t c) {
  if (c < 0x100) return (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7);
  const std::u32string lowered = py_lower(std::u32string(1, c));
  return lowered != std::u32string(1, c);
}

bool py_islower_char(char32_t c) {
  if (c < 0x100)
    return (c >= 'a' && c <= 'z') || c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xDF && c != 0xF7);
  const bool cased_block = (c < 0x250) || (c >= 0x370 && c < 0x530) || (c >= 0x1E00 && c < 0x2000);
  return cased_block && py_re_is_word(c) && !py_re_is_digit(c) && !py_isupper_char(c);
}

struct Token {
  std::string tok, type;
  char32_t first = 0;
  bool period_final = false, parastart = false, linestart = false;
  bool sentbreak = false, abbr = false, ellipsis = false;

  std::string type_no_period() const {
    if (type.size() > 1 && type.back() == '.') return type.substr(0, type.size() - 1);
    return type;
  }
  std::string type_no_sentperiod() const { return sentbreak ? type_no_period() : type; }
  bool first_upper() const { return py_isupper_char(first); }
  bool first_lower() const { return py_islower_char(first); }
  bool is_ellipsis() const {  // re.match(r"\.\.+$", tok)
    return tok.size() >= 2 && tok.find_first_not_of('.') == std::string::npos;
  }
  bool is_initial() const {  // re.match(r"[^\W\d]\.$", tok)
    const std::u32string u = utf8_to_u32(tok);
    return u.size() == 2 && py_re_is_word(u[0]) && !py_re_is_digit(u[0]) && u[1] == U'.';
  }
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> tab_lines(const std::filesystem::path& path) {
  std::vector<std::string> out;
  for (std::string line : python_readlines(read_text_file(path))) {
    if (!line.empty() && line.back() == '\n') line.pop_back();
    out.push_back(std::move(line));
  }
  return out;
}

std::pair<std::string, std::string> split_tab(const std::string& line, const std::filesystem::path& path) {
  const size_t tab = line.find('\t');
  KVBENCH_CHECK_INPUT(tab != std::string::npos && line.find('\t', tab + 1) == std::string::npos,
                      path.string(), ": expected two tab-separated fields in '", line, "'");
  return {line.substr(0, tab), line.substr(tab + 1)};
}

}  // namespace

PunktParameters load_punkt_parameters(const std::filesystem::path& dir) {
  PunktParameters p;
  for (const auto& line : tab_lines(dir / "collocations.tab")) p.collocations.insert(split_tab(line, dir / "collocations.tab"));
  for (const auto& line : tab_lines(dir / "sent_starters.txt")) p.sent_starters.insert(line);
  for (const auto& line : tab_lines(dir / "abbrev_types.txt")) p.abbrev_types.insert(line);
  for (const auto& line : tab_lines(dir / "ortho_context.tab")) {
    auto kv = split_tab(line, dir / "ortho_context.tab");
    try {
      p.ortho_context[kv.first] = std::stoi(kv.second);
    } catch (const std::exception&) {
      KVBENCH_FAIL(ErrorKind::kInput, (dir / "ortho_context.tab").string(), ": '", kv.second, "' is not an integer");
    }
  }
  return p;
}

struct PunktSentenceSplitter::Regexes {
  Pcre word{"(" + kMultiChar + "|(?=" + kWordStart + ")" + kNws + "+?(?=" + kWs + "|$|" + kNonWord + "|" +
                kMultiChar + "|,(?=$|" + kWs + "|" + kNonWord + "|" + kMultiChar + "))|" + kNws + ")",
            0};
  Pcre period{"[\\.\\?!](?=(?<after_tok>" + kNonWord + "|" + kWs + "+(?<next_tok>" + kNws + "+)))", 0};
  Pcre realign{"[\"\\')\\]}]+?(?:" + kWs + "+|(?=--)|$)", PCRE2_MULTILINE};
  Pcre numeric{"^-?[\\.,]?\\d[\\d,\\.\\-]*\\.?$", 0};
};

PunktSentenceSplitter::PunktSentenceSplitter(PunktParameters params)
    : params_(std::move(params)), re_(std::make_unique<Regexes>()) {}

PunktSentenceSplitter::~PunktSentenceSplitter() = default;

namespace {

// text.rstrip() / strip() with Python's Unicode whitespace, on UTF-8.
std::string py_rstrip_utf8(const std::string& s) {
  std::u32string u = utf8_to_u32(s);
  size_t end = u.size();
  while (end > 0 && py_isspace(u[end - 1])) --end;
  return u32_to_utf8(u.substr(0, end));
}

}  // namespace

bool PunktSentenceSplitter::text_contains_sentbreak(const std::string& text) const {
  // _tokenize_words: per "\n"-separated line with non-blank content, the word tokenizer's matches.
  std::vector<Token> tokens;
  bool parastart = false;
  size_t line_start = 0;
  while (line_start <= text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    const std::string line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    if (py_strip_utf8(line).empty()) {
      parastart = true;
      if (line_end == text.size()) break;
      continue;
    }
    bool first = true;
    for (size_t at = 0; at < line.size() && re_->word.match(line, at);) {
      Token t;
      t.tok = line.substr(re_->word.begin(1), re_->word.end(1) - re_->word.begin(1));
      at = re_->word.end(0);
      t.type = re_->numeric.match(py_lower_utf8(t.tok), 0) ? "##number##" : py_lower_utf8(t.tok);
      t.first = utf8_to_u32(t.tok).at(0);
      t.period_final = !t.tok.empty() && t.tok.back() == '.';
      if (first) {
        t.parastart = parastart;
        t.linestart = true;
        parastart = false;
        first = false;
      }
      tokens.push_back(std::move(t));
    }
    if (line_end == text.size()) break;
  }

  // First pass: sentence-end characters, ellipses, abbreviations by type.
  for (Token& t : tokens) {
    if (t.tok == "." || t.tok == "?" || t.tok == "!") {
      t.sentbreak = true;
    } else if (t.is_ellipsis()) {
      t.ellipsis = true;
    } else if (t.period_final && !ends_with(t.tok, "..")) {
      const std::string stem = py_lower_utf8(t.tok.substr(0, t.tok.size() - 1));
      const std::string last_part = stem.substr(stem.rfind('-') == std::string::npos ? 0 : stem.rfind('-') + 1);
      if (params_.abbrev_types.count(stem) || params_.abbrev_types.count(last_part))
        t.abbr = true;
      else
        t.sentbreak = true;
    }
  }

  auto ortho_of = [&](const std::string& type) {
    auto it = params_.ortho_context.find(type);
    return it == params_.ortho_context.end() ? 0 : it->second;
  };
  // 1 = True, 0 = False, -1 = "unknown"
  auto ortho_heuristic = [&](const Token& t) {
    if (t.tok == ";" || t.tok == ":" || t.tok == "," || t.tok == "." || t.tok == "!" || t.tok == "?") return 0;
    const int oc = ortho_of(t.type_no_sentperiod());
    if (t.first_upper() && (oc & kOrthoLc) && !(oc & kOrthoMidUc)) return 1;
    if (t.first_lower() && ((oc & kOrthoUc) || !(oc & kOrthoBegLc))) return 0;
    return -1;
  };

  // Second pass over (token, next token as the first pass left it), in order.
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    Token& t1 = tokens[i];
    const Token& t2 = tokens[i + 1];
    if (!t1.period_final) continue;
    const std::string typ = t1.type_no_period();
    const std::string next_typ = t2.type_no_sentperiod();
    const bool initial = t1.is_initial();
    if (params_.collocations.count({typ, next_typ})) {
      t1.sentbreak = false;
      t1.abbr = true;
      continue;
    }
    if ((t1.abbr || t1.ellipsis) && !initial) {
      if (ortho_heuristic(t2) == 1) {
        t1.sentbreak = true;
        continue;
      }
      if (t2.first_upper() && params_.sent_starters.count(next_typ)) {
        t1.sentbreak = true;
        continue;
      }
    }
    if (initial || typ == "##number##") {
      const int is_starter = ortho_heuristic(t2);
      if (is_starter == 0) {
        t1.sentbreak = false;
        t1.abbr = true;
        continue;
      }
      if (is_starter == -1 && initial && t2.first_upper() && !(ortho_of(next_typ) & kOrthoLc)) {
        t1.sentbreak = false;
        t1.abbr = true;
      }
    }
  }
  // A sentence break followed by at least one more token.
  for (size_t i = 0; i + 1 < tokens.size(); ++i)
    if (tokens[i].sentbreak) return true;
  return false;
}

std::vector<std::string> PunktSentenceSplitter::tokenize(const std::string& text) const {
  // _match_potential_end_contexts + _slices_from_text.
  std::vector<std::pair<size_t, size_t>> slices;
  size_t last_break = 0;
  struct End {
    size_t start, end, next_tok;  // next_tok: npos when the group did not participate
    std::string after_tok;
  };
  auto consider = [&](const End& m, size_t word_begin, size_t word_end) {
    const std::string context = text.substr(word_begin, word_end - word_begin) +
                                text.substr(m.start, m.end - m.start) + m.after_tok;
    if (!text_contains_sentbreak(context)) return;
    slices.emplace_back(last_break, m.end);
    last_break = m.next_tok != std::string::npos ? m.next_tok : m.end;
  };
  bool have_previous = false;
  End previous{};
  size_t prev_begin = 0, prev_end = 0;  // previous_slice
  for (size_t at = 0; at < text.size() && re_->period.match(text, at);) {
    End m{re_->period.begin(0), re_->period.end(0), std::string::npos, ""};
    m.after_tok = text.substr(re_->period.begin(1), re_->period.end(1) - re_->period.begin(1));
    if (re_->period.has(2)) m.next_tok = re_->period.begin(2);
    at = m.end;
    // The word before the match: after the last ASCII whitespace between the previous word slice
    // and the match (index 0 counts as none, as in nltk).
    size_t last_ws = 0;
    for (size_t i = m.start; i > prev_end; --i) {
      const char c = text[i - 1];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\x0b' || c == '\x0c') {
        last_ws = i - 1 - prev_end;
        break;
      }
    }
    const size_t word_begin = last_ws != 0 ? last_ws + prev_end + 1 : prev_begin;
    if (have_previous && prev_end <= word_begin) consider(previous, prev_begin, prev_end);
    previous = m;
    have_previous = true;
    prev_begin = word_begin;
    prev_end = m.start;
  }
  if (have_previous) consider(previous, prev_begin, prev_end);
  slices.emplace_back(last_break, py_rstrip_utf8(text).size());

  // _realign_boundaries: closing quotes/brackets after a break move into the sentence before.
  std::vector<std::string> out;
  size_t realign = 0;
  for (size_t i = 0; i < slices.size(); ++i) {
    const size_t s1_begin = slices[i].first + realign, s1_end = slices[i].second;
    auto piece = [&](size_t b, size_t e) { return b < e ? text.substr(b, e - b) : std::string(); };
    if (i + 1 == slices.size()) {
      const std::string s = piece(s1_begin, s1_end);
      if (!s.empty()) out.push_back(s);
      continue;
    }
    const std::string s2 = piece(slices[i + 1].first, slices[i + 1].second);
    if (re_->realign.match(s2, 0, /*anchored=*/true)) {
      const std::string matched = s2.substr(0, re_->realign.end(0));
      out.push_back(piece(s1_begin, slices[i + 1].first + py_rstrip_utf8(matched).size()));
      realign = re_->realign.end(0);
    } else {
      realign = 0;
      const std::string s = piece(s1_begin, s1_end);
      if (!s.empty()) out.push_back(s);
    }
  }
  return out;
}

}  // namespace kvbench
