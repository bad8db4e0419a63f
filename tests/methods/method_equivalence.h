// SPDX-License-Identifier: Apache-2.0
// Test helper (acceptance 1 of the KV methods): a method whose budget covers the whole sequence
// must reproduce the full cache exactly. expect_equivalent_to_full() runs greedy generation on every
// tiny checkpoint (tests/model/tiny_models.h, fp32 on the CPU) with the method and with "full" and
// expects identical greedy tokens and every step's logits within a relative bound argued at
// EquivalenceOptions::logit_tolerance.
// Tests using it need the tiny checkpoints, i.e. LABELS python.
#pragma once

#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/params.h"
#include "harness/kv/method.h"
#include "tests/model/tiny_models.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kvbench::test {

struct EquivalenceOptions {
  int64_t max_new_tokens = 16;
  // Per step: max |logit difference| <= logit_tolerance * (S + T) * eps_fp32 * max(1, max |logit|),
  // S + T the attention length at that step (prompt + generated). A method whose budget covers the
  // sequence attends exactly the full cache's rows with the same fp32 ops; only the order of the
  // reductions over those S + T rows may differ (its own gather, layout, chunking or SIMD path), which
  // changes each score and attention output by at most (S + T) * eps relative. Through softmax
  // (1/2-Lipschitz) and the <= 3 layers of the tiny checkpoints, each at most doubling a relative
  // perturbation of the residual stream, the logits move by at most 2^4 times that relative to their
  // scale: hence the default factor 16. A real defect (a dropped or misplaced row, a wrong RoPE
  // position) moves logits by O(0.1), thousands of times this bound.
  double logit_tolerance = 16;
  int64_t prompt_tokens = 0;          // 0: the checkpoint's reference prompt (64 tokens); else a
                                      // deterministic prompt of this length (see equivalence_prompt)
  int64_t prefill_chunk = 0;          // GenerateOptions::prefill_chunk of both runs
  std::vector<std::string> models = tiny_model_names();
};

// The method with `params` resolved against its registered ParamSpecs (defaults filled in, unknown
// keys rejected), as the run config does.
inline std::unique_ptr<KVMethod> make_method(const std::string& name, const nlohmann::json& params) {
  const auto* entry = KVMethodRegistry::instance().find(name);
  KVBENCH_CHECK(entry != nullptr, "no method named ", name);
  const nlohmann::json resolved =
      resolve_params(entry->params, params, "method.params", [](const std::string& key) { return "test:" + key; });
  return entry->make(resolved);
}

// `length` tokens: the reference prompt repeated, each repetition shifted by a prime offset so the
// sequence does not repeat exactly (ids stay inside the vocabulary).
inline std::vector<int64_t> equivalence_prompt(const nlohmann::json& reference, int64_t length, int64_t vocab) {
  const auto base = reference["prompt"].get<std::vector<int64_t>>();
  if (length <= 0) return base;
  std::vector<int64_t> prompt(static_cast<size_t>(length));
  for (int64_t i = 0; i < length; ++i) {
    const int64_t round = i / static_cast<int64_t>(base.size());
    prompt[static_cast<size_t>(i)] = (base[static_cast<size_t>(i) % base.size()] + 37 * round) % vocab;
  }
  return prompt;
}

// The tiny model `name` (fp32, CPU), loaded once per test process.
inline const CausalLM& tiny_model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<CausalLM>> models;
  auto& slot = models[name];
  if (!slot) slot = CausalLM::load(tiny_models_dir() + "/" + name, {at::kFloat, at::kCPU});
  return *slot;
}

// Returns the largest logit difference seen over all models and steps (for logging). The full
// cache's run is computed once per (model, prompt length, steps, prefill chunk) per test process.
inline double expect_equivalent_to_full(const std::string& method_name, const nlohmann::json& params,
                                        const EquivalenceOptions& options = {}) {
  static std::map<std::string, GenerateResult> full_runs;
  double worst = 0;
  for (const auto& model_name : options.models) {
    const CausalLM& model = tiny_model(model_name);
    const std::vector<int64_t> prompt =
        equivalence_prompt(tiny_reference(model_name), options.prompt_tokens, model.config().vocab_size);
    GenerateOptions generate_options;
    generate_options.max_new_tokens = options.max_new_tokens;
    generate_options.stop_on_eos = false;
    generate_options.keep_logits = true;
    generate_options.prefill_chunk = options.prefill_chunk;
    const std::string key = model_name + "/" + std::to_string(options.prompt_tokens) + "/" +
                            std::to_string(options.max_new_tokens) + "/" + std::to_string(options.prefill_chunk);
    auto cached = full_runs.find(key);
    if (cached == full_runs.end()) {
      auto full = make_method("full", nlohmann::json::object());
      cached = full_runs.emplace(key, generate(model, *full, {prompt}, generate_options)).first;
    }
    const GenerateResult& expected = cached->second;
    auto method = make_method(method_name, params);
    const GenerateResult got = generate(model, *method, {prompt}, generate_options);
    EXPECT_EQ(got.tokens, expected.tokens) << method_name << " " << params.dump() << " on " << model_name;
    EXPECT_EQ(got.step_logits.size(), expected.step_logits.size()) << model_name;
    const size_t steps = std::min(got.step_logits.size(), expected.step_logits.size());
    double worst_ratio = 0;
    for (size_t i = 0; i < steps; ++i) {
      constexpr double kEps = 1.1920928955078125e-7;  // fp32 machine epsilon, 2^-23
      const double attended = static_cast<double>(prompt.size() + i);
      const double scale = std::max(1.0, expected.step_logits[i].abs().max().item<double>());
      const double bound = options.logit_tolerance * attended * kEps * scale;
      const double diff = (got.step_logits[i] - expected.step_logits[i]).abs().max().item<double>();
      worst = std::max(worst, diff);
      worst_ratio = std::max(worst_ratio, diff / bound);
      EXPECT_LE(diff, bound) << method_name << " " << params.dump() << " on " << model_name << ", step " << i;
    }
    std::printf("[equivalence] %s on %s: max |logit diff| %.3g = %.3g of the bound\n", method_name.c_str(),
                model_name.c_str(), worst, worst_ratio);
  }
  return worst;
}

}  // namespace kvbench::test
