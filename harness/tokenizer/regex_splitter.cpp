// SPDX-License-Identifier: Apache-2.0
// PCRE2 JIT matching loop for RegexSplitter (see regex_splitter.h).
#include "harness/tokenizer/regex_splitter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "harness/error.h"

namespace kvbench {

namespace {

// Oniguruma (which Hugging Face uses) matches \s against the Unicode White_Space property; PCRE2
// with UCP also counts U+180E (MONGOLIAN VOWEL SEPARATOR, a format character since Unicode 6.3)
// as horizontal space. Spelling \s and \S out as explicit classes removes the difference.
constexpr const char* kWhiteSpace =
    "\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

std::string to_pcre2_pattern(const std::string& onig, const std::string& where) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < onig.size(); ++i) {
    const char c = onig[i];
    if (c == '\\' && i + 1 < onig.size()) {
      const char e = onig[++i];
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpace) : std::string("[") + kWhiteSpace + "]";
      } else if (e == 'S') {
        KVBENCH_CHECK_INPUT(!in_class, where, ": regex \"", onig,
                            "\": \\S inside a character class is not supported");
        out += std::string("[^") + kWhiteSpace + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < onig.size() && onig[i + 1] == '^') out += onig[++i];
      if (i + 1 < onig.size() && onig[i + 1] == ']') out += onig[++i];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

struct RegexSplitter::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
};

RegexSplitter::RegexSplitter(const std::string& pattern, const std::string& where)
    : pattern_(pattern), impl_(std::make_unique<Impl>()) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  const std::string pcre = to_pcre2_pattern(pattern, where);
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre.data()), pcre.size(),
                              PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    KVBENCH_FAIL(ErrorKind::kInput, where, ": regex \"", pattern, "\" does not compile at offset ",
                 offset, ": ", reinterpret_cast<const char*>(msg));
  }
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

RegexSplitter::~RegexSplitter() {
  if (impl_ && impl_->code) pcre2_code_free(impl_->code);
}

namespace {

// Match data and (only when a match needs it) a larger JIT stack, reused by one thread.
struct MatchScratch {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  ~MatchScratch() {
    if (stack) pcre2_jit_stack_free(stack);
    if (context) pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
  // Called once, when the default 32 KiB JIT stack was too small: allow up to 64 MiB.
  void grow_stack() {
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, size_t(64) << 20, nullptr);
    pcre2_jit_stack_assign(context, nullptr, stack);
  }
};

}  // namespace

void RegexSplitter::split(std::string_view text, Span span, std::vector<Span>& out) const {
  thread_local MatchScratch scratch;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const PCRE2_SIZE end = span.begin + span.size;
  PCRE2_SIZE pos = span.begin;
  PCRE2_SIZE gap = span.begin;  // start of text not yet emitted
  while (pos < end) {
    int rc;
    for (;;) {
      rc = impl_->jit ? pcre2_jit_match(impl_->code, subject, end, pos, PCRE2_NO_UTF_CHECK,
                                        scratch.data, scratch.context)
                      : pcre2_match(impl_->code, subject, end, pos, PCRE2_NO_UTF_CHECK,
                                    scratch.data, scratch.context);
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !scratch.stack) {
        scratch.grow_stack();
        continue;
      }
      break;
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    // rc == 0 is a match too: the pattern has capture groups and the one-pair match data holds only
    // the whole match (all this splitter reads); found by tests/fuzz (a "(!?\S)" group).
    KVBENCH_CHECK(rc >= 0, "tokenizer regex \"", pattern_, "\": PCRE2 match failed with code ", rc);
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.data);
    const PCRE2_SIZE ms = ov[0], me = ov[1];
    if (me == ms) {
      // Empty match: contributes nothing; step one character forward.
      pos = ms + 1;
      while (pos < end && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      continue;
    }
    if (ms > gap) out.push_back({uint32_t(gap), uint32_t(ms - gap)});
    out.push_back({uint32_t(ms), uint32_t(me - ms)});
    gap = pos = me;
  }
  if (end > gap) out.push_back({uint32_t(gap), uint32_t(end - gap)});
}

}  // namespace kvbench
