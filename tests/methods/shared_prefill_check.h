// SPDX-License-Identifier: Apache-2.0
// Test helper for shared prefill (harness/model/shared_prefill.h): expect_replay_matches_own()
// runs every method that declares `shared_prefill` on every tiny architecture on one device, whole
// and chunked prefill, with budgets that really compress a 300-token prompt, once with its own
// prefill and once from a replayed recording (one keeping every extra, one keeping only what the
// method declares), and expects the greedy tokens and every step's logits equal bit for bit. No
// tolerance: the replayed method receives the very tensors its own prefill would have received
// (its prefill output is the same exact_attention over the same rows as the recorder's) and then
// runs the same decode code on the same device.
#pragma once

#include "harness/model/generate.h"
#include "harness/model/shared_prefill.h"
#include "harness/registry.h"
#include "tests/methods/method_equivalence.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace kvbench::test {

using nlohmann::json;

// Parameters that make each declaring method compress a 300-token prompt of the tiny models (their
// defaults are sized for 8K-128K prompts and would keep everything).
inline const std::map<std::string, json>& compressing_params() {
  static const std::map<std::string, json> params = {
      {"full", json::object()},
      {"streaming_llm", {{"sink_tokens", 4}, {"recent_tokens", 32}}},
      {"quest", {{"token_budget", 48}, {"page_size", 16}, {"dense_layers", 0}}},
      {"shadowkv", {{"sparse_budget", 48}, {"rank", 32}, {"local_chunks", 2}, {"outlier_chunks", 2}}},
      {"yakv", {{"sparse_budget", 32}, {"local_budget", 16}, {"outlier_budget", 4}}},
      {"yakv_gpu", {{"sparse_budget", 0.1}, {"min_seqlen_to_prune", 64}}},
      {"arkvale", {{"token_budget", 64}, {"page_size", 8}, {"cache_pages", 16}, {"dense_layers", 0}}},
      {"lrqk", {{"active", 32}, {"lite", 8}, {"rank", 8}}},
      {"infinigen", {{"budget", 0.2}, {"dense_layers", 1}}},
      {"snapkv", {{"max_capacity_prompt", 64}, {"window_size", 8}}},
      {"pyramidkv", {{"max_capacity_prompt", 64}, {"window_size", 8}}},
      {"h2o", {{"heavy_budget", 24}, {"recent_budget", 24}}},
      {"tova", {{"cache_size", 48}}},
  };
  return params;
}

inline std::vector<std::string> declaring_methods() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : catalog()["method"])
    if (PrefillUses::of_entry(entry.extra)) names.push_back(name);
  return names;
}

struct Decoded {
  std::vector<int64_t> tokens;
  std::vector<at::Tensor> logits;
};

inline Decoded run_once(const CausalLM& model, const std::string& method_name, const std::vector<int64_t>& prompt,
                        int64_t prefill_chunk, const PrefillRecord* record) {
  std::unique_ptr<KVMethod> method = make_method(method_name, compressing_params().at(method_name));
  GenerateOptions options;
  options.max_new_tokens = 12;
  options.stop_on_eos = false;
  options.keep_logits = true;
  options.prefill_chunk = prefill_chunk;
  options.shared_prefill = record;
  GenerateResult result = generate(model, *method, {prompt}, options);
  return {result.tokens[0], result.step_logits};
}

// Every declaring method on every tiny model loaded in `dtype` on `device`.
inline void expect_replay_matches_own(at::ScalarType dtype, at::Device device) {
  for (const std::string& model_name : tiny_model_names()) {
    const std::unique_ptr<CausalLM> loaded = CausalLM::load(tiny_models_dir() + "/" + model_name, {dtype, device});
    const CausalLM& model = *loaded;
    const std::vector<int64_t> prompt = equivalence_prompt(tiny_reference(model_name), 300, model.config().vocab_size);
    for (int64_t chunk : {int64_t{0}, int64_t{128}}) {
      PrefillUses all;
      all.query = all.key_pre_rope = all.hidden = true;  // a recording serving every method
      const PrefillRecord record = record_prefill(model, {prompt}, chunk, all);
      for (const std::string& name : declaring_methods()) {
        SCOPED_TRACE(model_name + " " + name + " prefill_chunk " + std::to_string(chunk));
        if (name == "infinigen" && chunk > 0) continue;  // InfiniGen's prefill is whole-prompt only
        // A recording keeping only what the method declares must serve it too.
        const auto* entry = KVMethodRegistry::instance().find(name);
        const PrefillRecord own_uses = record_prefill(model, {prompt}, chunk, *PrefillUses::of_entry(entry->extra));
        const Decoded own = run_once(model, name, prompt, chunk, nullptr);
        for (const PrefillRecord* shared : {&record, &own_uses}) {
          const Decoded replayed = run_once(model, name, prompt, chunk, shared);
          ASSERT_EQ(replayed.tokens, own.tokens);
          ASSERT_EQ(replayed.logits.size(), own.logits.size());
          for (size_t step = 0; step < own.logits.size(); ++step)
            ASSERT_TRUE(at::equal(replayed.logits[step], own.logits[step])) << "step " << step;
        }
      }
    }
  }
}

}  // namespace kvbench::test
