// SPDX-License-Identifier: Apache-2.0
// GPU checks of the model runtime (skip without a CUDA device): the tiny checkpoints on CUDA match
// transformers' fp32 logits and greedy tokens and batch correctly; optionally, large checkpoints
// made by scripts/gpu/make_large_checkpoints.py (folders listed in KVBENCH_LARGE_MODELS, separated
// by ':') match transformers' bf16 greedy tokens for 32 steps.
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/model/safetensors.h"
#include "tests/model/greedy_near_tie.h"
#include "tests/model/tiny_models.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

namespace kvbench {
namespace {

std::unique_ptr<KVMethod> full_method() { return KVMethodRegistry::instance().find("full")->make({}); }

class GpuParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
    at::globalContext().setAllowTF32CuBLAS(false);
  }
};

TEST_P(GpuParity, Fp32LogitsAndGreedyMatchTransformers) {
  const auto ref = test::tiny_reference(GetParam());
  auto model = CausalLM::load(test::tiny_models_dir() + "/" + GetParam(), LoadOptions{at::kFloat, at::Device(at::kCUDA, 0)});
  const auto prompt = ref["prompt"].get<std::vector<int64_t>>();
  const int64_t t = static_cast<int64_t>(prompt.size());
  auto method = full_method();
  method->reset(model->view(), 1, t);
  ForwardInput in;
  in.tokens = at::tensor(prompt, at::kLong).view({1, t});
  in.positions = at::arange(t, at::kLong).view({1, t});
  in.valid = at::ones({1, t}, at::kBool);
  in.all_logits = true;
  at::Tensor logits = model->forward(in, *method)[0].to(at::kCPU).to(at::kFloat);
  SafetensorsFile file(test::tiny_models_dir() + "/" + GetParam() + "/reference_logits.safetensors");
  EXPECT_LE((logits - file.view("prompt_logits")).abs().max().item<double>(), 1e-3);

  GenerateOptions opt;
  opt.max_new_tokens = 64;
  opt.stop_on_eos = false;
  GenerateResult r = generate(*model, *method, {prompt}, opt);
  EXPECT_EQ(r.tokens[0], ref["greedy_fp32"].get<std::vector<int64_t>>());
  // The caching allocator's peak covers at least the weights and the full cache's K/V (both live on
  // the device for the whole generation), and reserved memory is never below allocated.
  EXPECT_GE(r.peak_cuda_allocated_bytes, static_cast<int64_t>(model->weights().bytes()) + r.kv.device_bytes);
  EXPECT_GE(r.peak_cuda_reserved_bytes, r.peak_cuda_allocated_bytes);
  // Batched (left padding) equals per-sequence on the device too.
  std::vector<std::vector<int64_t>> prompts = {std::vector<int64_t>(prompt.begin(), prompt.begin() + 20), prompt};
  opt.max_new_tokens = 8;
  GenerateResult batched = generate(*model, *method, prompts, opt);
  for (size_t b = 0; b < prompts.size(); ++b)
    EXPECT_EQ(batched.tokens[b], generate(*model, *method, {prompts[b]}, opt).tokens[0]) << b;
}

INSTANTIATE_TEST_SUITE_P(TinyModels, GpuParity, ::testing::ValuesIn(test::tiny_model_names()),
                         [](const auto& info) { return info.param; });

TEST(GpuLarge, Bf16GreedyMatchesTransformers) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const std::string list = test::env_or("KVBENCH_LARGE_MODELS", "");
  if (list.empty()) GTEST_SKIP() << "KVBENCH_LARGE_MODELS not set (scripts/gpu/check.sh sets it)";
  std::stringstream folders(list);
  for (std::string dir; std::getline(folders, dir, ':');) {
    std::ifstream in(dir + "/reference.json");
    const auto ref = nlohmann::json::parse(in);
    auto model = CausalLM::load(dir, LoadOptions{at::kBFloat16, at::Device(at::kCUDA, 0)});
    auto method = full_method();
    GenerateOptions opt;
    opt.max_new_tokens = static_cast<int64_t>(ref["greedy_bf16"].size());
    opt.stop_on_eos = false;
    opt.keep_logits = true;
    GenerateResult r = generate(*model, *method, {ref["prompt"].get<std::vector<int64_t>>()}, opt);
    // Equal tokens, or a divergence at a near-tie with every logit within the bf16 bound up to it
    // (tests/model/greedy_near_tie.h argues the bound).
    const test::GreedyVerdict verdict = test::judge_greedy(ref, r.tokens[0], r.step_logits);
    EXPECT_TRUE(verdict.ok) << dir << ": " << verdict.why;
    std::printf("%s: %s\n", dir.c_str(), verdict.why.c_str());
  }
}

}  // namespace
}  // namespace kvbench
