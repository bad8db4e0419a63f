// SPDX-License-Identifier: Apache-2.0
// Python `re` findall / sub semantics over PCRE2 (UTF-8, Unicode properties, LF newline), for the
// patterns lm-eval's filters and metric options use: groups, alternation, classes, quantifiers,
// anchors, inline flags such as (?s). Iteration after an empty match follows Python 3.7+ (the next
// match may not be empty at the same position). Inputs are sanitized to valid UTF-8 first.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace kvbench {

class PyRegex {
 public:
  // kvbench::Error(kConfig) naming the pattern and PCRE2's message when it does not compile.
  explicit PyRegex(const std::string& pattern);
  ~PyRegex();
  PyRegex(const PyRegex&) = delete;
  PyRegex& operator=(const PyRegex&) = delete;

  // re.findall: one entry per match; each entry holds the whole match when the pattern has no
  // groups, else one string per group ("" for a group that did not participate).
  std::vector<std::vector<std::string>> findall(const std::string& text) const;
  // re.sub(pattern, replacement, text) with a literal replacement (no backreferences).
  std::string sub(const std::string& replacement, const std::string& text) const;
  int group_count() const { return group_count_; }
  const std::string& pattern() const { return pattern_; }

 private:
  struct Match {
    size_t begin, end;
    std::vector<std::string> groups;
  };
  std::vector<Match> matches(const std::string& text) const;

  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  int group_count_ = 0;
};

// Replaces invalid UTF-8 bytes with U+FFFD (as a decoder with errors="replace" does).
std::string sanitize_utf8(const std::string& text);

}  // namespace kvbench
