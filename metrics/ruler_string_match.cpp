// SPDX-License-Identifier: Apache-2.0
// RULER string_match_all (niah, vt, cwe, fwe) and string_match_part (qa), NVIDIA/RULER
// scripts/eval/synthetic/constants.py, after evaluate.py's postprocess_pred (strip, control
// characters [\x00-\x1f] -> "\n", strip). Matching is Python `r.lower() in pred.lower()`.
// Per-sample score x100 as RULER reports it; the task score is round(mean, 2) (ruler_task_score).
#include "metrics/ruler_string_match.h"

#include "harness/error.h"
#include "metrics/longbench_scorer.h"
#include "harness/pytext/unicode_text.h"

namespace kvbench {

std::string ruler_postprocess(const std::string& prediction) {
  std::u32string text = py_strip(utf8_to_u32(prediction));
  for (char32_t& c : text)
    if (c <= 0x1F) c = U'\n';
  return u32_to_utf8(py_strip(text));
}

double ruler_hit_fraction(const std::string& prediction, const std::vector<std::string>& references,
                          bool all) {
  KVBENCH_CHECK_INPUT(!references.empty(), "RULER string_match: sample has no references");
  const std::u32string pred = py_lower(utf8_to_u32(prediction));
  double sum = 0.0, best = 0.0;
  for (const std::string& r : references) {
    double hit = pred.find(py_lower(utf8_to_u32(r))) != std::u32string::npos ? 1.0 : 0.0;
    sum += hit;
    if (hit > best) best = hit;
  }
  return all ? sum / static_cast<double>(references.size()) : best;
}

double ruler_task_score(const std::vector<double>& sample_scores) {
  KVBENCH_CHECK(!sample_scores.empty(), "RULER task score of zero samples");
  double sum = 0.0;
  for (double s : sample_scores) sum += s;
  return python_round2(sum / static_cast<double>(sample_scores.size()));
}

namespace {

class RulerStringMatch : public Metric {
 public:
  RulerStringMatch(bool all, bool postprocess) : all_(all), postprocess_(postprocess) {}
  Scores score(const std::string& prediction, const std::vector<std::string>& references,
               const nlohmann::json&) const override {
    std::string pred = postprocess_ ? ruler_postprocess(prediction) : prediction;
    // RULER: sum(per-sample values) / len(preds) * 100; for one sample that is value / 1 * 100.
    return {{all_ ? "string_match_all" : "string_match_part",
             ruler_hit_fraction(pred, references, all_) / 1.0 * 100}};
  }

 private:
  bool all_, postprocess_;
};

ParamSpecs ruler_params() {
  return {{"postprocess", ParamType::kBool, true,
           "apply RULER's postprocess_pred (strip, control characters to newlines) first"}};
}

}  // namespace

KVBENCH_REGISTER(Metric, RegistryEntry<Metric>{
    "ruler.string_match_all",
    "RULER string_match_all: % of references found (case-insensitive substring) in the output",
    ruler_params(),
    [](const nlohmann::json& p) {
      return std::make_unique<RulerStringMatch>(true, p.at("postprocess").get<bool>());
    },
    {{"source", "NVIDIA/RULER scripts/eval/synthetic/constants.py:string_match_all + "
                "scripts/eval/evaluate.py:postprocess_pred"},
     {"scale", "per-sample 0..100; task score = round(mean, 2) via ruler_task_score"}}});

KVBENCH_REGISTER(Metric, RegistryEntry<Metric>{
    "ruler.string_match_part",
    "RULER string_match_part: 100 if any reference is found (case-insensitive) in the output",
    ruler_params(),
    [](const nlohmann::json& p) {
      return std::make_unique<RulerStringMatch>(false, p.at("postprocess").get<bool>());
    },
    {{"source", "NVIDIA/RULER scripts/eval/synthetic/constants.py:string_match_part + "
                "scripts/eval/evaluate.py:postprocess_pred"},
     {"scale", "per-sample 0..100; task score = round(mean, 2) via ruler_task_score"}}});

}  // namespace kvbench
