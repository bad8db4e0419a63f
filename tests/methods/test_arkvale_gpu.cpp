// SPDX-License-Identifier: Apache-2.0
// arkvale on CUDA (exit 77 = skipped without a CUDA device): one layer driven by hand on the GPU
// (pinned host backup, recalls through HostToDevice's side stream, the CUDA top-k kernel) gives the
// CPU run's outputs, the same recalled pages and the same host-to-device bytes, in fp32 and bf16.
// fp32 tolerance: both devices attend the same rows; their sums differ only in order (<= n * eps
// relative over n <= 64 rows), so 1e-5 on outputs of magnitude <= 1 (convex combinations of
// one-hot rows). bf16: the rows and weights are rounded alike on both devices, the softmax runs
// in float32 inside both kernels up to the output's bf16 rounding: 2^-8 bounds one rounding step.
#include "tests/methods/attention_calls.h"
#include "tests/methods/eviction_reference.h"
#include "tests/methods/method_equivalence.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cstdio>

namespace kvbench {
namespace {

struct LayerRun {
  std::vector<at::Tensor> outputs;
  KVMemory memory;
  nlohmann::json stats;
};

LayerRun drive(const test::LayerSequence& seq, const nlohmann::json& params, int64_t s, int64_t steps, const at::Device& device,
          at::ScalarType dtype) {
  const int64_t hq = seq.query.size(1), hkv = seq.key.size(1), d = seq.key.size(3);
  test::LayerSequence on{seq.query.to(device, dtype), seq.key_pre_rope.to(device, dtype), seq.key.to(device, dtype),
                         seq.value.to(device, dtype), seq.positions.to(device), seq.scale};
  const KVShape shape{1, hq, hkv, d};  // layers, query heads, KV heads, head_dim
  auto method = test::make_method("arkvale", params);
  method->reset({shape, nullptr, nullptr}, 1, s + steps);
  LayerRun run;
  method->attend(on.call(0, s, AttentionPhase::kPrefill));
  for (int64_t t = 0; t < steps; ++t) {
    AttentionCall call = on.call(s + t, 1, AttentionPhase::kDecode);
    call.valid = call.valid.to(device);
    run.outputs.push_back(method->attend(call).to(at::kCPU, at::kFloat));
  }
  run.memory = method->memory();
  run.stats = method->stats();
  return run;
}

TEST(ArkValeGpu, SameOutputsRecallsAndBytesAsTheCpu) {
  const int64_t hq = 6, hkv = 2, d = 64, s = 51, steps = 6;
  for (const std::string ranking : {"layer", "kv_head"})
    for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
      test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, s + steps, d, 31);
      const nlohmann::json params = {{"token_budget", 12}, {"cache_pages", 9}, {"page_size", 4},
                                     {"dense_layers", 0}, {"ranking", ranking}};
      LayerRun cpu = drive(seq, params, s, steps, at::kCPU, dtype);
      LayerRun gpu = drive(seq, params, s, steps, at::Device(at::kCUDA, 0), dtype);
      const double tolerance = dtype == at::kFloat ? 1e-5 : 1.0 / 256;
      for (int64_t t = 0; t < steps; ++t)
        EXPECT_LT((cpu.outputs[t] - gpu.outputs[t]).abs().max().item<double>(), tolerance) << ranking << " step " << t;
      EXPECT_GT(cpu.stats["recalled_pages"].get<int64_t>(), 0);
      EXPECT_EQ(gpu.stats["recalled_pages"], cpu.stats["recalled_pages"]) << ranking;
      EXPECT_EQ(gpu.memory.host_to_device_bytes, cpu.memory.host_to_device_bytes) << ranking;
      EXPECT_EQ(gpu.memory.host_bytes, cpu.memory.host_bytes);
      EXPECT_EQ(gpu.memory.device_bytes, cpu.memory.device_bytes);
      EXPECT_EQ(gpu.memory.cache_hits, cpu.memory.cache_hits);
      std::printf("[arkvale gpu] %s %s: %lld pages recalled, %lld host->device bytes\n", ranking.c_str(),
                  dtype == at::kFloat ? "fp32" : "bf16", static_cast<long long>(gpu.stats["recalled_pages"].get<int64_t>()),
                  static_cast<long long>(gpu.memory.host_to_device_bytes));
    }
}

}  // namespace
}  // namespace kvbench
