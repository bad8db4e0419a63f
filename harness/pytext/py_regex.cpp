// SPDX-License-Identifier: Apache-2.0
// Python re semantics over PCRE2 (see py_regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "harness/pytext/py_regex.h"

#include "harness/error.h"
#include "harness/pytext/unicode_text.h"

#include <pcre2.h>

namespace kvbench {

std::string sanitize_utf8(const std::string& text) { return u32_to_utf8(utf8_to_u32(text)); }

PyRegex::PyRegex(const std::string& pattern) : pattern_(pattern) {
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);  // Python: only "\n" ends a line for . and $
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP, &error, &offset, context);
  pcre2_compile_context_free(context);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    KVBENCH_FAIL(ErrorKind::kConfig, "regex '", pattern, "' does not compile at offset ", offset,
                 ": ", reinterpret_cast<const char*>(message));
  }
  uint32_t count = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &count);
  group_count_ = static_cast<int>(count);
  code_ = code;
}

PyRegex::~PyRegex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

std::vector<PyRegex::Match> PyRegex::matches(const std::string& text) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  std::vector<Match> out;
  size_t start = 0;
  uint32_t options = 0;
  while (start <= text.size()) {
    int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                         options | PCRE2_NO_UTF_CHECK, data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    KVBENCH_CHECK(rc > 0, "regex '", pattern_, "': PCRE2 match error ", rc);
    PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    Match m{ovector[0], ovector[1], {}};
    for (int g = 1; g <= group_count_; ++g) {
      if (g < rc && ovector[2 * g] != PCRE2_UNSET)
        m.groups.push_back(text.substr(ovector[2 * g], ovector[2 * g + 1] - ovector[2 * g]));
      else
        m.groups.emplace_back();
    }
    out.push_back(std::move(m));
    // Python: after an empty match the next one may not be empty at the same position.
    options = ovector[0] == ovector[1] ? PCRE2_NOTEMPTY_ATSTART : 0;
    start = ovector[1];
  }
  pcre2_match_data_free(data);
  return out;
}

std::vector<std::vector<std::string>> PyRegex::findall(const std::string& input) const {
  const std::string text = sanitize_utf8(input);
  std::vector<std::vector<std::string>> out;
  for (Match& m : matches(text)) {
    if (group_count_ == 0)
      out.push_back({text.substr(m.begin, m.end - m.begin)});
    else
      out.push_back(std::move(m.groups));
  }
  return out;
}

std::string PyRegex::sub(const std::string& replacement, const std::string& input) const {
  const std::string text = sanitize_utf8(input);
  std::string out;
  size_t last = 0;
  for (const Match& m : matches(text)) {
    out.append(text, last, m.begin - last);
    out += replacement;
    last = m.end;
  }
  out.append(text, last, std::string::npos);
  return out;
}

}  // namespace kvbench
