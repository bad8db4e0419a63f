// SPDX-License-Identifier: Apache-2.0
// Parity of the model runtime with transformers on the tiny checkpoints of every architecture
// (fixtures regenerated at test time by scripts/make_tiny_checkpoints.py): fp32 prompt logits,
// fp32 and bf16 greedy continuations, decode-after-prefill vs full forward, chunked prefill, batching,
// stop conditions.
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/model/safetensors.h"
#include "tests/model/full_forward.h"
#include "tests/model/tiny_models.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>

namespace kvbench {
namespace {

constexpr double kTol = 1e-4;

// Tiny models: one intra-op thread is faster than contended OpenMP on the shared 2-core CI machine.
const int kSingleThread = (at::set_num_threads(1), 0);

std::unique_ptr<KVMethod> full_method() {
  const auto* entry = KVMethodRegistry::instance().find("full");
  EXPECT_NE(entry, nullptr);
  return entry->make(nlohmann::json::object());
}

const CausalLM& model(const std::string& name, at::ScalarType dtype) {
  static std::map<std::pair<std::string, int>, std::unique_ptr<CausalLM>> cache;
  auto key = std::make_pair(name, static_cast<int>(dtype));
  auto it = cache.find(key);
  if (it == cache.end()) {
    LoadOptions options;
    options.dtype = dtype;
    it = cache.emplace(key, CausalLM::load(test::tiny_models_dir() + "/" + name, options)).first;
  }
  return *it->second;
}

std::vector<int64_t> ids(const nlohmann::json& j) { return j.get<std::vector<int64_t>>(); }

at::Tensor reference_logits(const std::string& name) {
  SafetensorsFile file(test::tiny_models_dir() + "/" + name + "/reference_logits.safetensors");
  return file.view("prompt_logits").clone();  // [64, vocab] fp32
}

using test::full_forward;

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, Fp32PromptLogitsMatchTransformers) {
  const auto ref = test::tiny_reference(GetParam());
  const CausalLM& m = model(GetParam(), at::kFloat);
  EXPECT_EQ(m.config().architecture, ref["architecture"].get<std::string>());
  at::Tensor logits = full_forward(m, ids(ref["prompt"]));
  at::Tensor expected = reference_logits(GetParam());
  ASSERT_EQ(logits.sizes(), expected.sizes());
  const double diff = max_diff(logits, expected);
  RecordProperty("max_abs_logit_diff", str_cat(diff));
  EXPECT_LE(diff, kTol) << GetParam();
}

TEST_P(Parity, Fp32Greedy64MatchesTransformers) {
  const auto ref = test::tiny_reference(GetParam());
  auto method = full_method();
  GenerateOptions opt;
  opt.max_new_tokens = 64;
  opt.stop_on_eos = false;
  GenerateResult r = generate(model(GetParam(), at::kFloat), *method, {ids(ref["prompt"])}, opt);
  EXPECT_EQ(r.tokens[0], ids(ref["greedy_fp32"]));
  EXPECT_EQ(r.finish_reasons[0], "length");
  EXPECT_EQ(r.decode_ms.size(), 63u);
  EXPECT_GT(r.prefill_ms, 0);
  EXPECT_DOUBLE_EQ(r.kv.tokens_attended, 64 + 63);  // the last token sees the prompt + 63 generated
  EXPECT_GT(r.kv.device_bytes, 0);
}

TEST_P(Parity, DecodeAfterPrefillEqualsFullForward) {
  const auto ref = test::tiny_reference(GetParam());
  const CausalLM& m = model(GetParam(), at::kFloat);
  const std::vector<int64_t> prompt = ids(ref["prompt"]);
  const int64_t n = static_cast<int64_t>(prompt.size()), prefill = 8;
  at::Tensor expected = reference_logits(GetParam());
  at::Tensor ours_full = full_forward(m, prompt);
  auto method = full_method();
  method->reset(m.view(), 1, n);
  ForwardInput in;
  in.tokens = at::tensor(std::vector<int64_t>(prompt.begin(), prompt.begin() + prefill), at::kLong).view({1, prefill});
  in.positions = at::arange(prefill, at::kLong).view({1, prefill});
  in.valid = at::ones({1, prefill}, at::kBool);
  in.all_logits = true;
  at::Tensor pre = m.forward(in, *method)[0].to(at::kFloat);
  EXPECT_LE(max_diff(pre, expected.narrow(0, 0, prefill)), kTol);
  double worst = 0;
  for (int64_t i = prefill; i < n; ++i) {
    ForwardInput step;
    step.tokens = at::full({1, 1}, prompt[i], at::kLong);
    step.positions = at::full({1, 1}, i, at::kLong);
    step.valid = at::ones({1, 1}, at::kBool);
    step.slot_offset = i;
    step.phase = AttentionPhase::kDecode;
    at::Tensor logits = m.forward(step, *method)[0][0].to(at::kFloat);
    worst = std::max(worst, max_diff(logits, expected[i]));
    EXPECT_LE(max_diff(logits, ours_full[i]), kTol) << "position " << i;
  }
  RecordProperty("max_abs_decode_logit_diff", str_cat(worst));
  EXPECT_LE(worst, kTol) << "decode logits vs transformers' full forward";
}

TEST_P(Parity, Bf16Greedy32MatchesTransformers) {
  const auto ref = test::tiny_reference(GetParam());
  auto method = full_method();
  GenerateOptions opt;
  opt.max_new_tokens = 32;
  opt.stop_on_eos = false;
  GenerateResult r = generate(model(GetParam(), at::kBFloat16), *method, {ids(ref["prompt"])}, opt);
  const auto expected = ids(ref["greedy_bf16"]);
  ASSERT_EQ(r.tokens[0].size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_EQ(r.tokens[0][i], expected[i]) << "first bf16 divergence at step " << i;
}

TEST_P(Parity, ChunkedPrefillEqualsWholePrefill) {
  const auto ref = test::tiny_reference(GetParam());
  const CausalLM& m = model(GetParam(), at::kFloat);
  GenerateOptions opt;
  opt.max_new_tokens = 16;
  opt.stop_on_eos = false;
  opt.keep_logits = true;
  auto whole_method = full_method();
  GenerateResult whole = generate(m, *whole_method, {ids(ref["prompt"])}, opt);
  for (int64_t chunk : {1, 7, 16, 63}) {
    opt.prefill_chunk = chunk;
    auto method = full_method();
    GenerateResult chunked = generate(m, *method, {ids(ref["prompt"])}, opt);
    EXPECT_EQ(chunked.tokens, whole.tokens) << "chunk " << chunk;
    for (size_t i = 0; i < whole.step_logits.size(); ++i)
      EXPECT_LE(max_diff(chunked.step_logits[i], whole.step_logits[i]), kTol) << "chunk " << chunk << " step " << i;
  }
}

TEST_P(Parity, BatchedGenerationEqualsPerSequence) {
  const auto ref = test::tiny_reference(GetParam());
  const CausalLM& m = model(GetParam(), at::kFloat);
  const std::vector<int64_t> prompt = ids(ref["prompt"]);
  const std::vector<std::vector<int64_t>> prompts = {
      std::vector<int64_t>(prompt.begin() + 5, prompt.begin() + 22), prompt,
      std::vector<int64_t>(prompt.begin(), prompt.begin() + 37)};
  GenerateOptions opt;
  opt.max_new_tokens = 12;
  opt.stop_on_eos = false;
  opt.keep_logits = true;
  for (int64_t chunk : {0, 10}) {
    opt.prefill_chunk = chunk;
    auto method = full_method();
    GenerateResult batched = generate(m, *method, prompts, opt);
    ASSERT_EQ(batched.tokens.size(), 3u);
    for (size_t b = 0; b < prompts.size(); ++b) {
      auto single_method = full_method();
      GenerateResult single = generate(m, *single_method, {prompts[b]}, opt);
      EXPECT_EQ(batched.tokens[b], single.tokens[0]) << "sequence " << b << " chunk " << chunk;
      for (size_t i = 0; i < single.step_logits.size(); ++i)
        EXPECT_LE(max_diff(batched.step_logits[i][b], single.step_logits[i][0]), kTol)
            << "sequence " << b << " step " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, Parity, ::testing::ValuesIn(test::tiny_model_names()),
                         [](const auto& info) { return info.param; });

TEST(Generation, EosIdsMergeConfigAndGenerationConfig) {
  const CausalLM& m = model("llama3", at::kFloat);
  EXPECT_EQ(m.config().eos_token_ids, (std::vector<int64_t>{2, 3}));
}

TEST(Generation, StopsOnStopTokenPredicateAndEos) {
  const auto ref = test::tiny_reference("smollm2");
  const auto expected = ids(ref["greedy_fp32"]);
  const CausalLM& m = model("smollm2", at::kFloat);
  // First token that did not occur earlier in the continuation, so the stop is unambiguous.
  size_t stop_at = 3;
  while (std::find(expected.begin(), expected.begin() + stop_at, expected[stop_at]) != expected.begin() + stop_at)
    ++stop_at;
  GenerateOptions opt;
  opt.max_new_tokens = 64;
  opt.stop_token_ids = {expected[stop_at]};
  auto method = full_method();
  GenerateResult r = generate(m, *method, {ids(ref["prompt"])}, opt);
  EXPECT_EQ(r.tokens[0], std::vector<int64_t>(expected.begin(), expected.begin() + stop_at + 1));
  EXPECT_EQ(r.finish_reasons[0], "stop_token");

  opt.stop_token_ids.clear();
  opt.stop_predicate = [](int64_t, const std::vector<int64_t>& generated) { return generated.size() == 5; };
  r = generate(m, *method, {ids(ref["prompt"])}, opt);
  EXPECT_EQ(r.tokens[0].size(), 5u);
  EXPECT_EQ(r.finish_reasons[0], "stop");

  // EOS from generation_config.json: a copy of the checkpoint whose generation config names the
  // token of step `stop_at` as EOS stops there with reason "eos".
  // (std::filesystem::remove_all resolves to a broken copy exported by libtorch.so: use the shell.)
  const std::string copy = test::env_or("KVBENCH_TEST_TMP", "/tmp") + "/smollm2_eos";
  const std::string cmd = "rm -rf '" + copy + "' && cp -r '" + test::tiny_models_dir() + "/smollm2' '" + copy + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ofstream(copy + "/generation_config.json") << nlohmann::json{{"eos_token_id", {expected[stop_at]}}}.dump();
  auto eos_model = CausalLM::load(copy, LoadOptions{at::kFloat, at::kCPU});
  EXPECT_EQ(eos_model->config().eos_token_ids, (std::vector<int64_t>{2, expected[stop_at]}));
  opt.stop_predicate = nullptr;
  r = generate(*eos_model, *method, {ids(ref["prompt"])}, opt);
  EXPECT_EQ(r.tokens[0], std::vector<int64_t>(expected.begin(), expected.begin() + stop_at + 1));
  EXPECT_EQ(r.finish_reasons[0], "eos");
}

}  // namespace
}  // namespace kvbench
