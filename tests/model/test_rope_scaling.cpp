// SPDX-License-Identifier: Apache-2.0
// RoPE scaling (linear, dynamic NTK, YaRN with its attention factor, mscale and beta knobs) against
// transformers on tiny random checkpoints whose prompts run past the original window
// (scripts/reference/rope_scaling_reference.py, regenerated at test time): fp32 logits of every prompt
// position, the fp32 greedy continuation (for dynamic NTK the frequencies change at every step), and a
// negative control (the same weights with the scaling removed leave the bound).
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/model/safetensors.h"
#include "harness/kv/method.h"
#include "tests/model/full_forward.h"
#include "tests/model/tiny_models.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace kvbench {
namespace {

const int kSingleThread = (at::set_num_threads(1), 0);

std::string rope_models_dir() {
  static const std::string dir = [] {
    const std::string tmp = test::env_or("KVBENCH_TEST_TMP", "/tmp/kvbench-test-tmp");
    const std::string source = test::env_or("KVBENCH_SOURCE_DIR", KVBENCH_SOURCE_DIR);
    const std::string out = tmp + "/rope_models";
    const std::string cmd = "'" + test::env_or("KVBENCH_PYTHON", "python3") + "' '" + source +
                            "/scripts/reference/rope_scaling_reference.py' '" + out + "' > '" + tmp + "/rope_models.log' 2>&1";
    std::system(("mkdir -p '" + tmp + "'").c_str());
    KVBENCH_CHECK(std::system(cmd.c_str()) == 0, "rope reference script failed: ", cmd);
    return out;
  }();
  return dir;
}

// Bound on |kvbench logit - transformers logit| relative to the logit scale max(1, max|logit|).
// Both sides run the same fp32 ops (RMSNorm, projections, RoPE from the same fp32 inv_freq formula,
// attention over the same S <= 172 rows): what may differ is the order of reductions (GEMM blocking,
// SIMD path), worth at most S * eps relative per score / attention output, and at most doubled by
// each of the 2 layers and the softmax: 16 * S * eps. A wrong frequency at positions past the window
// (e.g. no scaling at all, checked below) moves logits by O(0.1), thousands of times more.
double logit_bound(int64_t attended, const at::Tensor& reference) {
  constexpr double kEps = 1.1920928955078125e-7;  // fp32 machine epsilon
  return 16.0 * static_cast<double>(attended) * kEps * std::max(1.0, reference.abs().max().item<double>());
}

std::unique_ptr<KVMethod> full_method() { return KVMethodRegistry::instance().find("full")->make({}); }

// max over positions of |diff| / bound.
double worst_ratio(const at::Tensor& got, const at::Tensor& want) {
  double worst = 0;
  for (int64_t i = 0; i < want.size(0); ++i) {
    const double diff = (got[i] - want[i]).abs().max().item<double>();
    worst = std::max(worst, diff / logit_bound(i + 1, want[i]));
  }
  return worst;
}

class RopeScaling : public ::testing::TestWithParam<std::string> {};

TEST_P(RopeScaling, LogitsAndGreedyMatchTransformersPastTheWindow) {
  const std::string dir = rope_models_dir() + "/" + GetParam();
  std::ifstream in(dir + "/reference.json");
  const nlohmann::json ref = nlohmann::json::parse(in);
  const auto prompt = ref["prompt"].get<std::vector<int64_t>>();
  auto model = CausalLM::load(dir, {at::kFloat, at::kCPU});
  EXPECT_EQ(model->config().rope.type, ref["rope"]["rope_type"].get<std::string>());
  SafetensorsFile file(dir + "/reference_logits.safetensors");
  const at::Tensor want = file.view("prompt_logits").clone();
  const double ratio = worst_ratio(test::full_forward(*model, prompt), want);
  std::printf("[rope %s] max |logit diff| = %.3g of the bound\n", GetParam().c_str(), ratio);
  EXPECT_LE(ratio, 1.0) << GetParam();

  GenerateOptions options;
  options.max_new_tokens = static_cast<int64_t>(ref["greedy_fp32"].size());
  options.stop_on_eos = false;
  auto method = full_method();
  const GenerateResult got = generate(*model, *method, {prompt}, options);
  EXPECT_EQ(got.tokens[0], ref["greedy_fp32"].get<std::vector<int64_t>>()) << GetParam();

  // Negative control: the same folder with plain RoPE (theta kept) leaves the bound.
  nlohmann::json config;
  std::ifstream(dir + "/config.json") >> config;
  config["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", ref["rope"]["rope_theta"]}};
  const std::string plain = test::env_or("KVBENCH_TEST_TMP", "/tmp") + "/rope_plain_" + GetParam();
  std::system(("rm -rf '" + plain + "' && cp -r '" + dir + "' '" + plain + "'").c_str());
  std::ofstream(plain + "/config.json") << config.dump();
  auto unscaled = CausalLM::load(plain, {at::kFloat, at::kCPU});
  EXPECT_GT(worst_ratio(test::full_forward(*unscaled, prompt), want), 10.0) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Variants, RopeScaling,
                         ::testing::Values("llama_linear", "llama_dynamic", "qwen3_yarn", "llama_yarn_mscale"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kvbench
