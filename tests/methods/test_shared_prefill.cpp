// SPDX-License-Identifier: Apache-2.0
// Shared prefill (harness/model/shared_prefill.h, PrefillUses in harness/kv/prefill_uses.h): every
// method whose registry entry declares `shared_prefill` must decode from a replayed exact prefill
// exactly as from its own prefill, bit for bit, on every tiny architecture (fp32, CPU; see
// tests/methods/shared_prefill_check.h; test_shared_prefill_gpu does the same on CUDA). A negative
// control perturbs one recorded key and expects the logits to move, so the comparison can fail;
// recordings serve only their prompt, chunking and declared extras.
#include "tests/methods/shared_prefill_check.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace kvbench {
namespace {

using nlohmann::json;
using test::Decoded;
using test::declaring_methods;
using test::compressing_params;
using test::run_once;

TEST(SharedPrefill, EveryDeclaringMethodHasParamsHere) {
  for (const std::string& name : declaring_methods())
    EXPECT_TRUE(compressing_params().count(name)) << name << " declares shared_prefill but is not tested here";
  EXPECT_GE(declaring_methods().size(), 13u);
}

TEST(SharedPrefill, ReplayedPrefillDecodesBitForBitLikeTheMethodsOwn) {
  test::expect_replay_matches_own(at::kFloat, at::kCPU);
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
