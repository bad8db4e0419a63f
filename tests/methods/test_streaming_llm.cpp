// SPDX-License-Identifier: Apache-2.0
// streaming_llm: the kept set is exactly sinks + recent window (dense reference with reassigned
// RoPE positions), the cache never exceeds sink + recent during decode, and with a window covering
// the whole sequence it reproduces the full cache's logits and greedy tokens on every tiny model.
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/kv/rope.h"
#include "harness/kv/method.h"
#include "tests/methods/method_equivalence.h"
#include "tests/methods/attention_calls.h"
#include "tests/model/tiny_models.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kvbench {
namespace {

std::unique_ptr<KVMethod> make(int64_t sink, int64_t recent, bool reassign) {
  return KVMethodRegistry::instance().find("streaming_llm")->make(
      {{"sink_tokens", sink}, {"recent_tokens", recent}, {"reassign_positions", reassign}});
}

// softmax(q k^T * scale) v over all given keys, GQA by repetition, fp64.
at::Tensor dense(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  const int64_t group = q.size(1) / k.size(1);
  at::Tensor kr = k.to(at::kDouble).repeat_interleave(group, 1), vr = v.to(at::kDouble).repeat_interleave(group, 1);
  return at::matmul(at::softmax(at::matmul(q.to(at::kDouble), kr.transpose(-1, -2)) * scale, -1), vr);
}

TEST(StreamingLLM, KeepsSinksAndRecentWindowWithReassignedPositions) {
  ModelConfig config;
  config.num_layers = 1;
  config.head_dim = 16;
  Rope rope(config.rope, 16, at::kCPU);
  ModelView view{config.kv_shape(), nullptr, &rope};
  const int64_t hq = 4, hkv = 2, d = 16, prompt = 23, steps = 5, sink = 3, recent = 6;
  const double scale = 0.25;
  at::manual_seed(7);
  at::Tensor k_pre = at::randn({1, hkv, prompt + steps, d}), v = at::randn({1, hkv, prompt + steps, d});
  at::Tensor q_pre = at::randn({1, hq, prompt + steps, d});
  at::Tensor positions = at::arange(prompt + steps, at::kLong).unsqueeze(0);
  at::Tensor k_post = rope.apply(k_pre, positions), q_post = rope.apply(q_pre, positions);

  for (bool reassign : {true, false}) {
    auto method = make(sink, recent, reassign);
    method->reset(view, 1, prompt + steps);
    const test::LayerSequence sequence{q_post, k_pre, k_post, v, positions, scale};
    auto call_for = [&](int64_t begin, int64_t n, AttentionPhase phase, bool last) {
      return sequence.call(begin, n, phase, last);
    };
    // Prefill in two chunks is exact over the whole prompt (last query sees all 23 keys).
    method->attend(call_for(0, 10, AttentionPhase::kPrefill, false));
    at::Tensor out = method->attend(call_for(10, prompt - 10, AttentionPhase::kPrefill, true));
    at::Tensor want = dense(q_post.narrow(2, prompt - 1, 1), k_post.narrow(2, 0, prompt), v.narrow(2, 0, prompt), scale);
    EXPECT_LT((out.narrow(2, out.size(2) - 1, 1).to(at::kDouble) - want).abs().max().item<double>(), 1e-5);

    for (int64_t step = 0; step < steps; ++step) {
      const int64_t p = prompt + step;
      out = method->attend(call_for(p, 1, AttentionPhase::kDecode, true));
      // Kept: slots 0..sink-1 and the last recent-1 slots before p, plus p itself.
      std::vector<int64_t> kept;
      for (int64_t i = 0; i < sink; ++i) kept.push_back(i);
      for (int64_t i = p - (recent - 1); i <= p; ++i) kept.push_back(i);
      at::Tensor index = at::tensor(kept, at::kLong);
      at::Tensor keys;
      if (reassign) {
        // Cache positions 0..n-1, query at n-1.
        const int64_t n = static_cast<int64_t>(kept.size());
        at::Tensor cache_pos = at::arange(n, at::kLong).unsqueeze(0);
        keys = rope.apply(k_pre.index_select(2, index), cache_pos);
        at::Tensor q = rope.apply(q_pre.narrow(2, p, 1), at::full({1, 1}, n - 1, at::kLong));
        want = dense(q, keys, v.index_select(2, index), scale);
      } else {
        keys = k_post.index_select(2, index);
        want = dense(q_post.narrow(2, p, 1), keys, v.index_select(2, index), scale);
      }
      EXPECT_LT((out.to(at::kDouble) - want).abs().max().item<double>(), 1e-4)
          << "reassign " << reassign << " step " << step;
      EXPECT_DOUBLE_EQ(method->memory().tokens_attended, static_cast<double>(sink + recent));
    }
    EXPECT_EQ(method->stats()["evicted_entries"], (prompt - sink - recent) + steps);
  }
}

TEST(StreamingLLM, WindowCoveringEverythingEqualsFullCacheOnEveryTinyModel) {
  for (bool reassign : {true, false}) {
    test::expect_equivalent_to_full("streaming_llm", {{"sink_tokens", 4}, {"recent_tokens", 4096},
                                                      {"reassign_positions", reassign}});
  }
  // Chunked prefill and a longer prompt than the reference one.
  test::EquivalenceOptions options;
  options.prompt_tokens = 150;
  options.prefill_chunk = 64;
  options.max_new_tokens = 8;
  test::expect_equivalent_to_full("streaming_llm", {{"recent_tokens", 200}}, options);
}

}  // namespace
}  // namespace kvbench
