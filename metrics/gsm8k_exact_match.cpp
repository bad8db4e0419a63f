// SPDX-License-Identifier: Apache-2.0
// lm-evaluation-harness exact_match for gsm8k / gsm8k_cot with both filter pipelines:
// "strict-match" and "flexible-extract" (RegexFilter: findall, group_select, first non-empty group
// of a tuple, strip, "[invalid]" fallback; then take_first), scored by exact_match_hf_evaluate
// (regexes_to_ignore removed from both sides, numpy lower, string equality). Scores 0..1.
#include "metrics/gsm8k_exact_match.h"

#include "harness/error.h"
#include "harness/task/metric.h"
#include "metrics/normalize.h"
#include "harness/pytext/py_regex.h"
#include "harness/pytext/unicode_text.h"

#include <memory>

namespace kvbench {

std::string lmeval_regex_filter(const PyRegex& regex, int group_select, const std::string& fallback,
                         const std::string& response) {
  std::vector<std::vector<std::string>> found = regex.findall(response);
  if (found.empty()) return fallback;
  long n = static_cast<long>(found.size());
  long index = group_select < 0 ? n + group_select : group_select;  // Python list indexing
  KVBENCH_CHECK(index >= 0 && index < n, "regex filter '", regex.pattern(), "': group_select ",
                group_select, " out of range for ", n, " matches");
  const std::vector<std::string>& match = found[index];
  std::string picked;
  if (regex.group_count() <= 1) {
    picked = match[0];
  } else {
    // A tuple: its first non-empty group, or the fallback when all are empty.
    bool any = false;
    for (const std::string& g : match)
      if (!g.empty()) {
        picked = g;
        any = true;
        break;
      }
    if (!any) picked = fallback;
  }
  return py_strip_utf8(picked);
}

namespace {

std::u32string rstrip_nul(std::u32string text) {
  while (!text.empty() && text.back() == U'\0') text.pop_back();
  return text;
}

// lm_eval.api.metrics.exact_match_hf_evaluate for one (prediction, reference) pair. Each step goes
// through a one-element numpy unicode array: its width is the length of the string that built it
// (trailing NULs included) and reading an element drops trailing NULs. np.char.lower keeps that
// width, so a lowercase mapping that lengthens the string (U+0130) is cut to it.
std::u32string lmeval_prepare(const std::string& text,
                              const std::vector<std::unique_ptr<PyRegex>>& regexes_to_ignore,
                              bool ignore_case, bool ignore_punctuation, bool ignore_numbers) {
  std::u32string value = utf8_to_u32(sanitize_utf8(text));
  size_t width = value.size();
  for (const auto& regex : regexes_to_ignore) {
    std::u32string replaced = utf8_to_u32(regex->sub("", u32_to_utf8(value)));
    width = replaced.size();
    value = rstrip_nul(replaced);
  }
  value = rstrip_nul(value);
  if (ignore_case) {
    value = py_lower(value);
    if (value.size() > width) value.resize(width);
    value = rstrip_nul(value);
  }
  if (ignore_punctuation || ignore_numbers) {
    std::u32string kept;
    for (char32_t c : value) {
      if (ignore_punctuation && is_ascii_punctuation(c)) continue;
      if (ignore_numbers && c >= U'0' && c <= U'9') continue;
      kept.push_back(c);
    }
    value = rstrip_nul(kept);
  }
  return value;
}

}  // namespace

double lmeval_exact_match(const std::string& prediction, const std::string& reference,
                          const std::vector<std::unique_ptr<PyRegex>>& regexes_to_ignore,
                          bool ignore_case, bool ignore_punctuation, bool ignore_numbers) {
  return lmeval_prepare(prediction, regexes_to_ignore, ignore_case, ignore_punctuation,
                        ignore_numbers) == lmeval_prepare(reference, regexes_to_ignore, ignore_case,
                                                          ignore_punctuation, ignore_numbers)
             ? 1.0
             : 0.0;
}

namespace {

class Gsm8kExactMatch : public Metric {
 public:
  explicit Gsm8kExactMatch(const nlohmann::json& params)
      : strict_(params.at("strict_regex").get<std::string>()),
        strict_group_(params.at("strict_group_select").get<int>()),
        flexible_(params.at("flexible_regex").get<std::string>()),
        flexible_group_(params.at("flexible_group_select").get<int>()),
        fallback_(params.at("fallback").get<std::string>()),
        ignore_case_(params.at("ignore_case").get<bool>()),
        ignore_punctuation_(params.at("ignore_punctuation").get<bool>()),
        ignore_numbers_(params.at("ignore_numbers").get<bool>()) {
    for (const auto& pattern : params.at("regexes_to_ignore"))
      ignore_.push_back(std::make_unique<PyRegex>(pattern.get<std::string>()));
  }

  Scores score(const std::string& prediction, const std::vector<std::string>& references,
               const nlohmann::json&) const override {
    KVBENCH_CHECK_INPUT(references.size() == 1, "gsm8k exact_match: expected exactly one reference"
                        " (the doc_to_target string), got ", references.size());
    const std::string& target = references[0];
    return {{"exact_match,strict-match",
             exact_match(lmeval_regex_filter(strict_, strict_group_, fallback_, prediction), target)},
            {"exact_match,flexible-extract",
             exact_match(lmeval_regex_filter(flexible_, flexible_group_, fallback_, prediction), target)}};
  }

 private:
  double exact_match(const std::string& filtered, const std::string& target) const {
    return lmeval_exact_match(filtered, target, ignore_, ignore_case_, ignore_punctuation_,
                              ignore_numbers_);
  }

  PyRegex strict_;
  int strict_group_;
  PyRegex flexible_;
  int flexible_group_;
  std::string fallback_;
  bool ignore_case_, ignore_punctuation_, ignore_numbers_;
  std::vector<std::unique_ptr<PyRegex>> ignore_;
};

ParamSpecs gsm8k_params(const std::string& strict_regex) {
  return {
      {"strict_regex", ParamType::kString, strict_regex, "strict-match filter regex"},
      {"strict_group_select", ParamType::kInt, 0, "strict-match: which findall match to keep"},
      {"flexible_regex", ParamType::kString, "(-?[$0-9.,]{2,})|(-?[0-9]+)",
       "flexible-extract filter regex"},
      {"flexible_group_select", ParamType::kInt, -1, "flexible-extract: which match (-1: last)"},
      {"fallback", ParamType::kString, "[invalid]", "filter output when the regex finds nothing"},
      {"regexes_to_ignore", ParamType::kStringList,
       nlohmann::json::array({",", "\\$", "(?s).*#### ", "\\.$"}),
       "removed (re.sub) from prediction and reference before comparing"},
      {"ignore_case", ParamType::kBool, true, "lowercase both sides"},
      {"ignore_punctuation", ParamType::kBool, false, "drop string.punctuation from both sides"},
      {"ignore_numbers", ParamType::kBool, false, "drop digits from both sides"},
  };
}

nlohmann::json gsm8k_extra(const std::string& yaml) {
  return {{"source", "EleutherAI/lm-evaluation-harness " + yaml +
                         " + lm_eval/filters/extraction.py RegexFilter + "
                         "lm_eval/api/metrics.py exact_match_hf_evaluate"},
          {"scores", {"exact_match,strict-match", "exact_match,flexible-extract"}},
          {"scale", "0..1 (lm-eval)"}};
}

}  // namespace

KVBENCH_REGISTER(Metric, RegistryEntry<Metric>{
    "gsm8k.exact_match",
    "lm-eval gsm8k exact_match under the strict-match (#### N) and flexible-extract filters",
    gsm8k_params("#### (\\-?[0-9\\.\\,]+)"),
    [](const nlohmann::json& params) { return std::make_unique<Gsm8kExactMatch>(params); },
    gsm8k_extra("lm_eval/tasks/gsm8k/gsm8k.yaml")});

KVBENCH_REGISTER(Metric, RegistryEntry<Metric>{
    "gsm8k_cot.exact_match",
    "lm-eval gsm8k_cot exact_match under strict-match (The answer is N.) and flexible-extract",
    gsm8k_params("The answer is (\\-?[0-9\\.\\,]+)."),
    [](const nlohmann::json& params) { return std::make_unique<Gsm8kExactMatch>(params); },
    gsm8k_extra("lm_eval/tasks/gsm8k/gsm8k-cot.yaml")});

}  // namespace kvbench
