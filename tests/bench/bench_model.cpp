// SPDX-License-Identifier: Apache-2.0
// Google Benchmark of the model runtime on CPU: one decode step and a prefill of a tiny checkpoint
// (scripts/make_tiny_checkpoints.py, generated on first use). KVBENCH_BENCH_MODEL=<name> picks the
// tiny model (default llama3); KVBENCH_BENCH_DTYPE=bf16 runs in bfloat16 (default fp32).
#include "harness/model/causal_lm.h"
#include "tests/model/tiny_models.h"

#include <benchmark/benchmark.h>

namespace kvbench {
namespace {

const CausalLM& bench_model() {
  static std::unique_ptr<CausalLM> model = [] {
    const std::string name = test::env_or("KVBENCH_BENCH_MODEL", "llama3");
    const bool bf16 = test::env_or("KVBENCH_BENCH_DTYPE", "fp32") == "bf16";
    return CausalLM::load(test::tiny_models_dir() + "/" + name, LoadOptions{bf16 ? at::kBFloat16 : at::kFloat, at::kCPU});
  }();
  return *model;
}

ForwardInput tokens_at(int64_t begin, int64_t n, AttentionPhase phase) {
  ForwardInput in;
  in.tokens = (at::arange(begin, begin + n, at::kLong) % 1000 + 4).view({1, n});
  in.positions = at::arange(begin, begin + n, at::kLong).view({1, n});
  in.valid = at::ones({1, n}, at::kBool);
  in.slot_offset = begin;
  in.phase = phase;
  return in;
}

// Prefill of state.range(0) tokens (last-position logits), fresh cache each iteration.
void BM_Prefill(benchmark::State& state) {
  const CausalLM& m = bench_model();
  auto method = KVMethodRegistry::instance().find("full")->make({});
  const int64_t n = state.range(0);
  ForwardInput in = tokens_at(0, n, AttentionPhase::kPrefill);
  for (auto _ : state) {
    method->reset(m.view(), 1, n);
    benchmark::DoNotOptimize(m.forward(in, *method).data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Prefill)->Arg(64)->Arg(512)->Unit(benchmark::kMillisecond);

// One decode step with state.range(0) tokens already cached.
void BM_DecodeStep(benchmark::State& state) {
  const CausalLM& m = bench_model();
  auto method = KVMethodRegistry::instance().find("full")->make({});
  const int64_t context = state.range(0);
  ForwardInput step = tokens_at(context, 1, AttentionPhase::kDecode);
  for (auto _ : state) {
    // Rebuild the `context`-token cache outside the timed region so every timed step sees the same
    // cache length.
    state.PauseTiming();
    method->reset(m.view(), 1, context + 1);
    m.forward(tokens_at(0, context, AttentionPhase::kPrefill), *method);
    state.ResumeTiming();
    benchmark::DoNotOptimize(m.forward(step, *method).data_ptr());
  }
}
BENCHMARK(BM_DecodeStep)->Arg(64)->Arg(512)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kvbench

BENCHMARK_MAIN();
