// SPDX-License-Identifier: Apache-2.0
// Shared prefill (harness/model/shared_prefill.h, PrefillUses in harness/kv/prefill_uses.h): every
// method whose registry entry declares `shared_prefill` must decode from a replayed exact prefill
// exactly as from its own prefill. On every tiny architecture (fp32, CPU), whole and chunked
// prefill, with budgets that really compress a 300-token prompt: the greedy tokens and every step's
// logits must be equal bit for bit (no tolerance: the replayed method receives the very tensors its
// own prefill would have received, because its prefill output is the same exact_attention over the
// same rows as the recorder's, and then runs the same decode code). A negative control perturbs one
// recorded key and expects the logits to move, so the comparison can fail.
#include "harness/model/generate.h"
#include "harness/model/shared_prefill.h"
#include "harness/registry.h"
#include "tests/methods/method_equivalence.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace kvbench {
namespace {

using nlohmann::json;

// Parameters that make each declaring method compress a 300-token prompt of the tiny models (their
// defaults are sized for 8K-128K prompts and would keep everything).
const std::map<std::string, json>& compressing_params() {
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
  };
  return params;
}

std::vector<std::string> declaring_methods() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : catalog()["method"])
    if (PrefillUses::of_entry(entry.extra)) names.push_back(name);
  return names;
}

struct Decoded {
  std::vector<int64_t> tokens;
  std::vector<at::Tensor> logits;
};

Decoded run_once(const CausalLM& model, const std::string& method_name, const std::vector<int64_t>& prompt,
             int64_t prefill_chunk, const PrefillRecord* record) {
  std::unique_ptr<KVMethod> method = test::make_method(method_name, compressing_params().at(method_name));
  GenerateOptions options;
  options.max_new_tokens = 12;
  options.stop_on_eos = false;
  options.keep_logits = true;
  options.prefill_chunk = prefill_chunk;
  options.shared_prefill = record;
  GenerateResult result = generate(model, *method, {prompt}, options);
  return {result.tokens[0], result.step_logits};
}

TEST(SharedPrefill, EveryDeclaringMethodHasParamsHere) {
  for (const std::string& name : declaring_methods())
    EXPECT_TRUE(compressing_params().count(name)) << name << " declares shared_prefill but is not tested here";
  EXPECT_GE(declaring_methods().size(), 9u);
}

TEST(SharedPrefill, ReplayedPrefillDecodesBitForBitLikeTheMethodsOwn) {
  for (const std::string& model_name : test::tiny_model_names()) {
    const CausalLM& model = test::tiny_model(model_name);
    const std::vector<int64_t> prompt =
        test::equivalence_prompt(test::tiny_reference(model_name), 300, model.config().vocab_size);
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

TEST(SharedPrefill, APerturbedRecordingChangesTheLogits) {
  const CausalLM& model = test::tiny_model("llama3");
  const std::vector<int64_t> prompt = test::equivalence_prompt(test::tiny_reference("llama3"), 300, model.config().vocab_size);
  PrefillRecord record = record_prefill(model, {prompt}, 0, PrefillUses{});
  const Decoded own = run_once(model, "full", prompt, 0, nullptr);
  // One key row of the last layer, one ulp-scale change: the comparison above sees it.
  at::Tensor key = record.calls.back().key.clone();
  key.select(2, 7).mul_(1.0f + 1e-6f);
  record.calls.back().key = key;
  const Decoded replayed = run_once(model, "full", prompt, 0, &record);
  EXPECT_FALSE(at::equal(replayed.logits.front(), own.logits.front()) &&
               at::equal(replayed.logits.back(), own.logits.back()));
}

TEST(SharedPrefill, ARecordingServesOnlyItsPromptChunkingAndUses) {
  const CausalLM& model = test::tiny_model("qwen3");
  const std::vector<int64_t> prompt = test::equivalence_prompt(test::tiny_reference("qwen3"), 100, model.config().vocab_size);
  PrefillUses key_pre_rope;
  key_pre_rope.key_pre_rope = true;
  const PrefillRecord record = record_prefill(model, {prompt}, 0, key_pre_rope);
  EXPECT_TRUE(record.serves({prompt}, 0, PrefillUses{}));
  EXPECT_TRUE(record.serves({prompt}, 0, key_pre_rope));
  PrefillUses query;
  query.query = true;
  EXPECT_FALSE(record.serves({prompt}, 0, query));
  EXPECT_FALSE(record.serves({prompt}, 32, PrefillUses{}));
  std::vector<int64_t> other = prompt;
  other.back() = (other.back() + 1) % model.config().vocab_size;
  EXPECT_FALSE(record.serves({other}, 0, PrefillUses{}));
  // Only declared extras are kept: no queries or hidden states in this recording.
  for (const AttentionCall& call : record.calls) {
    EXPECT_FALSE(call.query.defined());
    EXPECT_FALSE(call.hidden.defined());
    EXPECT_TRUE(call.key_pre_rope.defined());
  }
  EXPECT_EQ(static_cast<int64_t>(record.calls.size()), model.config().num_layers);
}

}  // namespace
}  // namespace kvbench
