// SPDX-License-Identifier: Apache-2.0
// LongBench answer normalization (see normalize.h).
#include "metrics/normalize.h"

#include "harness/pytext/unicode_text.h"

namespace kvbench {
namespace {

// LongBench's cn_punctuation set, minus the ASCII characters string.punctuation already covers.
const std::u32string& cn_punctuation() {
  static const std::u32string set = utf8_to_u32(
      "\xEF\xBC\x81\xEF\xBC\x9F\xEF\xBD\xA1\xE3\x80\x82\xEF\xBC\x82\xEF\xBC\x83\xEF\xBC\x84"
      "\xEF\xBC\x85\xEF\xBC\x86\xEF\xBC\x87\xEF\xBC\x88\xEF\xBC\x89\xEF\xBC\x8A\xEF\xBC\x8B"
      "\xEF\xBC\x8C\xEF\xBC\x8D\xEF\xBC\x8F\xEF\xBC\x9A\xEF\xBC\x9B\xEF\xBC\x9C\xEF\xBC\x9D"
      "\xEF\xBC\x9E\xEF\xBC\xA0\xEF\xBC\xBB\xEF\xBC\xBC\xEF\xBC\xBD\xEF\xBC\xBE\xEF\xBC\xBF"
      "\xEF\xBD\x80\xEF\xBD\x9B\xEF\xBD\x9C\xEF\xBD\x9D\xEF\xBD\x9E\xEF\xBD\x9F\xEF\xBD\xA0"
      "\xEF\xBD\xA2\xEF\xBD\xA3\xEF\xBD\xA4\xE3\x80\x81\xE3\x80\x83\xE3\x80\x8B\xE3\x80\x8C"
      "\xE3\x80\x8D\xE3\x80\x8E\xE3\x80\x8F\xE3\x80\x90\xE3\x80\x91\xE3\x80\x94\xE3\x80\x95"
      "\xE3\x80\x96\xE3\x80\x97\xE3\x80\x98\xE3\x80\x99\xE3\x80\x9A\xE3\x80\x9B\xE3\x80\x9C"
      "\xE3\x80\x9D\xE3\x80\x9E\xE3\x80\x9F\xE3\x80\xB0\xE3\x80\xBE\xE3\x80\xBF\xE2\x80\x93"
      "\xE2\x80\x94\xE2\x80\x98\xE2\x80\x99\xE2\x80\x9B\xE2\x80\x9C\xE2\x80\x9D\xE2\x80\x9E"
      "\xE2\x80\x9F\xE2\x80\xA6\xE2\x80\xA7\xEF\xB9\x8F");
  return set;
}

bool is_article_at(const std::u32string& text, size_t i, size_t* length) {
  // \b(a|an|the)\b tried in alternation order; every alternative starts with a word character, so
  // the leading \b needs a non-word character (or the start) before i.
  if (i > 0 && py_re_is_word(text[i - 1])) return false;
  static const std::u32string kArticles[] = {U"a", U"an", U"the"};
  for (const std::u32string& article : kArticles) {
    size_t end = i + article.size();
    if (end > text.size() || text.compare(i, article.size(), article) != 0) continue;
    if (end == text.size() || !py_re_is_word(text[end])) {
      *length = article.size();
      return true;
    }
  }
  return false;
}

}  // namespace

bool is_ascii_punctuation(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}

bool is_zh_punctuation(char32_t c) {
  return is_ascii_punctuation(c) || cn_punctuation().find(c) != std::u32string::npos;
}

std::u32string normalize_answer(const std::u32string& text) {
  std::u32string lowered = py_lower(text);
  std::u32string no_punct;
  no_punct.reserve(lowered.size());
  for (char32_t c : lowered)
    if (!is_ascii_punctuation(c)) no_punct.push_back(c);
  std::u32string no_articles;
  no_articles.reserve(no_punct.size());
  for (size_t i = 0; i < no_punct.size();) {
    size_t length = 0;
    if (is_article_at(no_punct, i, &length)) {
      no_articles.push_back(U' ');
      i += length;
    } else {
      no_articles.push_back(no_punct[i]);
      ++i;
    }
  }
  std::u32string out;
  for (const std::u32string& word : py_split_whitespace(no_articles)) {
    if (!out.empty()) out.push_back(U' ');
    out += word;
  }
  return out;
}

std::u32string normalize_zh_answer(const std::u32string& text) {
  std::u32string lowered = py_lower(text);
  std::u32string out;
  out.reserve(lowered.size());
  for (char32_t c : lowered)
    if (!is_zh_punctuation(c) && !py_isspace(c)) out.push_back(c);
  return out;
}

}  // namespace kvbench
