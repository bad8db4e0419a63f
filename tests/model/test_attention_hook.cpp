// SPDX-License-Identifier: Apache-2.0
// The KV-method hook contract: a probe method (wrapping "full") checks what every AttentionCall
// carries (shapes, pre/post-RoPE keys, positions and padding, the layer input, phase and chunk
// flags, access to all layers' weights and the RoPE tables) during a chunked, left-padded batch.
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "tests/model/cpp_checkpoint.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kvbench {
namespace {

struct SeenCall {
  int64_t layer;
  AttentionPhase phase;
  bool last_prefill_chunk;
  int64_t slot_offset;
  int64_t tokens;
};

class Probe : public KVMethod {
 public:
  explicit Probe(const ModelConfig& config) : config_(config) {}
  void reset(const ModelView& model, int64_t batch, int64_t max_tokens) override {
    view_ = model;
    inner_ = KVMethodRegistry::instance().find("full")->make({});
    inner_->reset(model, batch, max_tokens);
    calls.clear();
    positions.clear();
    valids.clear();
  }
  at::Tensor attend(const AttentionCall& call) override {
    // The view's shape is the model's; the test's own copy of the config supplies hidden_size.
    const ModelConfig& c = config_;
    EXPECT_EQ(view_.shape.num_layers, c.num_layers);
    EXPECT_EQ(view_.shape.num_heads, c.num_heads);
    EXPECT_EQ(view_.shape.num_kv_heads, c.num_kv_heads);
    EXPECT_EQ(view_.shape.head_dim, c.head_dim);
    const int64_t b = call.query.size(0), t = call.query.size(2);
    EXPECT_EQ(call.query.sizes(), (std::vector<int64_t>{b, c.num_heads, t, c.head_dim}));
    EXPECT_EQ(call.key.sizes(), (std::vector<int64_t>{b, c.num_kv_heads, t, c.head_dim}));
    EXPECT_EQ(call.key_pre_rope.sizes(), call.key.sizes());
    EXPECT_EQ(call.value.sizes(), call.key.sizes());
    EXPECT_EQ(call.hidden.sizes(), (std::vector<int64_t>{b, t, c.hidden_size}));
    EXPECT_EQ(call.positions.sizes(), (std::vector<int64_t>{b, t}));
    EXPECT_EQ(call.valid.sizes(), (std::vector<int64_t>{b, t}));
    EXPECT_DOUBLE_EQ(call.scale, 1.0 / std::sqrt(static_cast<double>(c.head_dim)));
    // Post-RoPE keys are the pre-RoPE keys rotated with the model's tables at `positions`.
    EXPECT_TRUE(at::allclose(view_.rope->apply(call.key_pre_rope, call.positions), call.key, 1e-6, 1e-6));
    // `hidden` is this layer's normalized input: projecting it with this layer's k_proj (read
    // through the model view) gives the pre-RoPE keys (Llama: no k-norm).
    at::Tensor k = at::linear(call.hidden, view_.weights->layer(call.layer, "self_attn.k_proj.weight"))
                       .view({b, t, c.num_kv_heads, c.head_dim}).transpose(1, 2);
    EXPECT_TRUE(at::allclose(k, call.key_pre_rope, 1e-5, 1e-5));
    // The next layer's weights are reachable (InfiniGen-style speculation).
    if (call.layer + 1 < c.num_layers) {
      EXPECT_TRUE(view_.weights->layer(call.layer + 1, "self_attn.q_proj.weight").defined());
    }
    calls.push_back({call.layer, call.phase, call.last_prefill_chunk, call.slot_offset, t});
    if (call.layer == 0) {
      positions.push_back(call.positions.clone());
      valids.push_back(call.valid.clone());
    }
    return inner_->attend(call);
  }
  KVMemory memory() const override { return inner_->memory(); }

  std::vector<SeenCall> calls;
  std::vector<at::Tensor> positions, valids;  // layer 0, per forward

 private:
  ModelConfig config_;
  ModelView view_;
  std::unique_ptr<KVMethod> inner_;
};

TEST(AttentionHook, CarriesEverythingMethodsNeed) {
  const std::string dir = test::write_model("hook_llama", test::tiny_llama_config());
  auto model = CausalLM::load(dir, LoadOptions{at::kFloat, at::kCPU});
  Probe probe(model->config());
  GenerateOptions opt;
  opt.max_new_tokens = 3;
  opt.stop_on_eos = false;
  opt.prefill_chunk = 3;
  opt.keep_logits = true;
  GenerateResult r = generate(*model, probe, {{5, 6, 7, 8, 9, 10, 11}, {20, 21, 22, 23}}, opt);
  ASSERT_EQ(r.tokens[0].size(), 3u);

  // 3 prefill chunks (slots 0, 3, 6) then 2 decode steps (slots 7, 8), each over layers 0..1.
  const std::vector<SeenCall> expected = {
      {0, AttentionPhase::kPrefill, false, 0, 3}, {1, AttentionPhase::kPrefill, false, 0, 3},
      {0, AttentionPhase::kPrefill, false, 3, 3}, {1, AttentionPhase::kPrefill, false, 3, 3},
      {0, AttentionPhase::kPrefill, true, 6, 1},  {1, AttentionPhase::kPrefill, true, 6, 1},
      {0, AttentionPhase::kDecode, true, 7, 1},   {1, AttentionPhase::kDecode, true, 7, 1},
      {0, AttentionPhase::kDecode, true, 8, 1},   {1, AttentionPhase::kDecode, true, 8, 1}};
  ASSERT_EQ(probe.calls.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(probe.calls[i].layer, expected[i].layer) << i;
    EXPECT_EQ(probe.calls[i].phase, expected[i].phase) << i;
    EXPECT_EQ(probe.calls[i].last_prefill_chunk, expected[i].last_prefill_chunk) << i;
    EXPECT_EQ(probe.calls[i].slot_offset, expected[i].slot_offset) << i;
    EXPECT_EQ(probe.calls[i].tokens, expected[i].tokens) << i;
  }
  // Left padding: sequence 1 (4 tokens) has 3 pad slots (position 0, invalid), then positions 0..3,
  // then decode positions 4, 5; sequence 0 runs 0..6 then 7, 8.
  at::Tensor pos = at::cat(probe.positions, 1), valid = at::cat(probe.valids, 1);
  EXPECT_TRUE(at::equal(pos[0], at::tensor(std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8})));
  EXPECT_TRUE(at::equal(pos[1], at::tensor(std::vector<int64_t>{0, 0, 0, 0, 1, 2, 3, 4, 5})));
  EXPECT_EQ(valid[0].sum().item<int64_t>(), 9);
  EXPECT_FALSE(valid[1].narrow(0, 0, 3).any().item<bool>());
  EXPECT_TRUE(valid[1].narrow(0, 3, 6).all().item<bool>());
}

}  // namespace
}  // namespace kvbench
