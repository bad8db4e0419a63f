// SPDX-License-Identifier: Apache-2.0
// Google Benchmark of the KV hot-path ops (harness/kv/ops.h) at Llama-3.1-8B shapes (Hkv 8, d 128,
// G 4; one layer, batch 1) for S = 32K and 128K: the CUDA kernels when a device is present (CUDA-event
// timing), and the LibTorch references on the CPU (S = 32K only; the 128K references take minutes).
// Counters: bytes (the op's compulsory traffic per call), GBps (bytes / measured time) and
// roofline (bytes / peak bandwidth / measured time: the fraction of the physical limit; peak from
// KVBENCH_HBM_BW, default 3.35e12 B/s for H100 SXM HBM3, or KVBENCH_PCIE_BW, default 5e10 B/s, for
// reads of host-mapped memory), as in methods.md section 7.
#include "harness/kv/ops.h"

#include <ATen/Context.h>
#include <benchmark/benchmark.h>

#ifdef KVBENCH_WITH_CUDA
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>

namespace kvbench {
namespace {

constexpr int64_t kHkv = 8, kHeadDim = 128, kGroupQ = 4, kRank = 160;

double env_double(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atof(v) : fallback;
}

bool have_cuda() { return kv_ops_have_cuda_kernels() && at::hasCUDA(); }

// Runs `op` once per iteration and times it: CUDA events on the current stream for CUDA, wall
// clock for the CPU; sets the bandwidth counters from `bytes` per call.
void run_timed(benchmark::State& state, bool cuda, double bytes, double peak_bw, const std::function<void()>& op) {
  op();  // warm-up (allocator, first launch)
  double seconds = 0;
#ifdef KVBENCH_WITH_CUDA
  cudaEvent_t start = nullptr, stop = nullptr;
  if (cuda) {
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
  }
#endif
  for (auto _ : state) {
    double s = 0;
    if (cuda) {
#ifdef KVBENCH_WITH_CUDA
      cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
      cudaEventRecord(start, stream);
      op();
      cudaEventRecord(stop, stream);
      cudaEventSynchronize(stop);
      float ms = 0;
      cudaEventElapsedTime(&ms, start, stop);
      s = ms * 1e-3;
#endif
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      op();
      s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    state.SetIterationTime(s);
    seconds += s;
  }
#ifdef KVBENCH_WITH_CUDA
  if (cuda) {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
#endif
  const double per_call = seconds / static_cast<double>(state.iterations());
  state.counters["bytes"] = bytes;
  state.counters["GBps"] = bytes / per_call / 1e9;
  state.counters["roofline"] = bytes / peak_bw / per_call;
}

at::Device device_for(bool cuda) { return cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU); }

bool skip_without_cuda(benchmark::State& state, bool cuda) {
  if (cuda && !have_cuda()) {
    state.SkipWithError("no CUDA device (or a build without the kernels)");
    return true;
  }
  return false;
}

// YAKV landmark scoring: args (S, group, query rows). group 128 with G = 4 query rows is the
// accuracy variant (methods.md 1.5), group 1024 = C with the mean query (1 row) the GPU variant (1.6).
void landmark_scores(benchmark::State& state, bool cuda) {
  if (skip_without_cuda(state, cuda)) return;
  const int64_t n = state.range(0), group = state.range(1), q_rows = state.range(2), dim = 4;
  const at::Device dev = device_for(cuda);
  const int64_t channels = kHkv * kHeadDim;
  at::Tensor query = at::randn({1, kHkv, q_rows, kHeadDim}, dev).to(at::kBFloat16);
  at::Tensor codes = at::randint(0, 256, {1, n, channels / dim}, at::TensorOptions().dtype(at::kByte).device(dev));
  at::Tensor scales = at::rand({1, n, channels / group}, dev);
  at::Tensor grid = at::randn({256, dim}, dev);
  const double bytes = static_cast<double>(codes.nbytes() + scales.nbytes()) + 4.0 * kHkv * q_rows * n;
  run_timed(state, cuda, bytes, env_double("KVBENCH_HBM_BW", 3.35e12), [&] {
    at::Tensor s = cuda ? higgs_landmark_scores(query, codes, scales, grid, group, kHkv, kHeadDim)
                        : higgs_landmark_scores_reference(query, codes, scales, grid, group, kHkv, kHeadDim);
    benchmark::DoNotOptimize(s.data_ptr());
  });
}

// Per-KV-head top-k: args (n, k). YAKV: n = S tokens, k = 3.125 % of S; ShadowKV: n = S / 8 chunks,
// k = 256 chunks.
void topk(benchmark::State& state, bool cuda) {
  if (skip_without_cuda(state, cuda)) return;
  const int64_t n = state.range(0), k = state.range(1);
  at::Tensor scores = at::randn({1, kHkv, n}, device_for(cuda));
  const double bytes = static_cast<double>(scores.nbytes()) + 8.0 * kHkv * k;
  run_timed(state, cuda, bytes, env_double("KVBENCH_HBM_BW", 3.35e12), [&] {
    at::Tensor idx = cuda ? topk_per_head(scores, k) : topk_per_head_reference(scores, k);
    benchmark::DoNotOptimize(idx.data_ptr());
  });
}

// Row gather: args (S, k, row bytes, source) with source 0 = device memory, 1 = host-mapped memory
// (zero-copy over PCIe). YAKV GPU: fp8 K rows of 128 B, k = 2.8125 % of S (prefix + sparse + suffix);
// ShadowKV values: chunk-major bf16 rows of 8 * 128 * 2 = 2 KiB, S / 8 rows, k = 256 chunks.
void gather(benchmark::State& state, bool cuda) {
  if (skip_without_cuda(state, cuda)) return;
  const int64_t rows = state.range(0), k = state.range(1), row_bytes = state.range(2);
  const bool mapped = state.range(3) == 1;
  at::Tensor host, src;
  if (mapped) {
#ifdef KVBENCH_WITH_CUDA
    host = at::randint(0, 255, {1, kHkv, rows, row_bytes}, at::kByte).pin_memory();
    void* device_ptr = nullptr;
    if (cudaHostGetDevicePointer(&device_ptr, host.data_ptr(), 0) != cudaSuccess) {
      state.SkipWithError("cudaHostGetDevicePointer failed");
      return;
    }
    src = at::from_blob(device_ptr, host.sizes(), at::TensorOptions().dtype(at::kByte).device(at::kCUDA, 0));
#endif
  } else {
    src = at::randint(0, 255, {1, kHkv, rows, row_bytes}, at::TensorOptions().dtype(at::kByte).device(device_for(cuda)));
  }
  at::Tensor index = at::randint(0, rows, {1, kHkv, k}, src.options().dtype(at::kLong));
  at::Tensor out = at::empty({1, kHkv, k, row_bytes}, src.options());
  const double bytes = static_cast<double>(out.nbytes());
  const double peak = mapped ? env_double("KVBENCH_PCIE_BW", 5e10) : env_double("KVBENCH_HBM_BW", 3.35e12);
  run_timed(state, cuda, mapped ? bytes : 2 * bytes, peak, [&] {
    benchmark::DoNotOptimize(cuda ? gather_rows(src, index, out, /*check_indices=*/false)
                                  : gather_rows_reference(src, index, out));
  });
}

// ShadowKV key reconstruction: args (S, selected tokens n); U [1, S, 160], SV [1, 8, 160, 128], bf16.
void reconstruct(benchmark::State& state, bool cuda) {
  if (skip_without_cuda(state, cuda)) return;
  const int64_t seq = state.range(0), n = state.range(1);
  const at::Device dev = device_for(cuda);
  const auto opts = at::TensorOptions().dtype(at::kBFloat16).device(dev);
  at::Tensor u = at::randn({1, seq, kRank}, opts);
  at::Tensor sv = at::randn({1, kHkv, kRank, kHeadDim}, opts);
  at::Tensor positions = at::randint(0, seq, {1, kHkv, n}, opts.dtype(at::kLong));
  at::Tensor cos = at::rand({1, kHkv, n, kHeadDim}, opts), sin = at::rand({1, kHkv, n, kHeadDim}, opts);
  // U rows (one per selected token and head), SV, positions, cos, sin, keys.
  const double bytes = 2.0 * kHkv * n * kRank + static_cast<double>(sv.nbytes() + positions.nbytes()) +
                       3.0 * static_cast<double>(cos.nbytes());
  run_timed(state, cuda, bytes, env_double("KVBENCH_HBM_BW", 3.35e12), [&] {
    at::Tensor keys = cuda ? shadowkv_reconstruct_keys(u, sv, positions, cos, sin, /*check_positions=*/false)
                           : shadowkv_reconstruct_keys_reference(u, sv, positions, cos, sin);
    benchmark::DoNotOptimize(keys.data_ptr());
  });
}

void BM_LandmarkScores_Cuda(benchmark::State& s) { landmark_scores(s, true); }
void BM_LandmarkScores_Reference(benchmark::State& s) { landmark_scores(s, false); }
void BM_TopkPerHead_Cuda(benchmark::State& s) { topk(s, true); }
void BM_TopkPerHead_Reference(benchmark::State& s) { topk(s, false); }
void BM_GatherRows_Cuda(benchmark::State& s) { gather(s, true); }
void BM_GatherRows_Reference(benchmark::State& s) { gather(s, false); }
void BM_ReconstructKeys_Cuda(benchmark::State& s) { reconstruct(s, true); }
void BM_ReconstructKeys_Reference(benchmark::State& s) { reconstruct(s, false); }

constexpr int64_t k32K = 32768, k128K = 131072;

void landmark_args(benchmark::internal::Benchmark* b, bool long_context) {
  b->ArgNames({"S", "group", "Gq"});
  for (int64_t s : {k32K, k128K}) {
    if (s == k128K && !long_context) continue;
    b->Args({s, 128, kGroupQ})->Args({s, 1024, 1});
  }
}
void topk_args(benchmark::internal::Benchmark* b, bool long_context) {
  b->ArgNames({"n", "k"});
  for (int64_t s : {k32K, k128K}) {
    if (s == k128K && !long_context) continue;
    b->Args({s, s / 32})->Args({s / 8, 256});
  }
}
void gather_args(benchmark::internal::Benchmark* b, bool long_context, bool cuda) {
  b->ArgNames({"rows", "k", "row_bytes", "mapped"});
  for (int64_t s : {k32K, k128K}) {
    if (s == k128K && !long_context) continue;
    for (int64_t mapped : {0, 1}) {
      if (mapped && !cuda) continue;
      b->Args({s, s * 45 / 1600, 128, mapped})->Args({s / 8, 256, 2048, mapped});
    }
  }
}
void reconstruct_args(benchmark::internal::Benchmark* b, bool long_context) {
  b->ArgNames({"S", "n"});
  for (int64_t s : {k32K, k128K}) {
    if (s == k128K && !long_context) continue;
    b->Args({s, 2048});
  }
}

BENCHMARK(BM_LandmarkScores_Cuda)->Apply([](auto* b) { landmark_args(b, true); })->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LandmarkScores_Reference)->Apply([](auto* b) { landmark_args(b, false); })->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopkPerHead_Cuda)->Apply([](auto* b) { topk_args(b, true); })->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopkPerHead_Reference)->Apply([](auto* b) { topk_args(b, false); })->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GatherRows_Cuda)->Apply([](auto* b) { gather_args(b, true, true); })->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GatherRows_Reference)->Apply([](auto* b) { gather_args(b, false, false); })->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReconstructKeys_Cuda)->Apply([](auto* b) { reconstruct_args(b, true); })->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReconstructKeys_Reference)->Apply([](auto* b) { reconstruct_args(b, false); })->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvbench

BENCHMARK_MAIN();
