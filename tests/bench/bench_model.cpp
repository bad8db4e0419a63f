// SPDX-License-Identifier: Apache-2.0
// Google Benchmark of the model runtime on CPU: one decode step and a prefill of a tiny checkpoint
// (scripts/make_tiny_checkpoints.py, generated on first use). KVBENCH_BENCH_MODEL=<name> picks the
// tiny model (default llama3); KVBENCH_BENCH_DTYPE=bf16 runs in bfloat16 (default fp32).
// With KVBENCH_BENCH_MODEL_DIR=<folder> it also times greedy generation of that checkpoint (bf16, CUDA
// when present) at the contexts in KVBENCH_BENCH_CONTEXTS (default 4096,32768,131072) for each KV
// method in KVBENCH_BENCH_METHODS (default full; comma-separated registered names, each run with its
// default params unless followed by overrides, `name:key=value:key=value`, values read as JSON where
// they parse, else as strings; e.g. `infinigen:dense_layers=1` for a two-layer model):
// TTFT, TPOT, the method's device/host/host-to-device bytes, the methods.md section 7.3 full-cache
// roofline at KVBENCH_HBM_BW bytes/s (default 3.35e12, H100 SXM) and the same bytes at the read
// bandwidth measured on the device (floor_ms, fraction_of_floor). Benchmarks are named
// BM_Generate/<method>/<context>. KVBENCH_BENCH_MODEL_DTYPE=fp32 loads that checkpoint in float32
// (default bf16; fp32 is how the CPU runs the embedded model).
// A benchmark whose method or generation fails is reported as an error (its message in the JSON) and
// the others still run; the process then exits 1.
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/params.h"
#include "tests/model/tiny_models.h"

#include <ATen/Context.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <sstream>

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

// Bytes one decode step must read at batch 1: weights (active experts only; the embedding lookup
// excluded unless tied, where the same matrix is the LM head) + the whole KV cache.
double roofline_bytes(const CausalLM& m, int64_t context) {
  const ModelConfig& c = m.config();
  double bytes = static_cast<double>(m.weights().bytes());
  if (!c.tie_word_embeddings) bytes -= static_cast<double>(m.weights().get("model.embed_tokens.weight").nbytes());
  for (int64_t l = 0; l < c.num_layers && c.num_experts > 0; ++l) {
    if (!c.is_moe_layer(l)) continue;
    double experts = 0;
    for (int64_t e = 0; e < c.num_experts; ++e) {
      const std::string p = ModelWeights::layer_name(l, "mlp.experts." + std::to_string(e));
      experts += static_cast<double>(m.weights().get(p + ".gate_up_proj.weight").nbytes() +
                                     m.weights().get(p + ".down_proj.weight").nbytes());
    }
    bytes -= experts * (1.0 - static_cast<double>(c.num_experts_per_tok) / static_cast<double>(c.num_experts));
  }
  const double elem = static_cast<double>(at::elementSize(m.dtype()));
  return bytes + static_cast<double>(context) * static_cast<double>(c.num_layers * c.num_kv_heads * c.head_dim) * 2 * elem;
}

// Read bandwidth of `device` in bytes/s: the best of 5 sums over a 1 GiB float tensor, the most a
// decode step's weight and KV reads can reach there (item() waits for the device).
double measured_read_bandwidth(at::Device device) {
  const at::Tensor x = at::ones({int64_t{1} << 28}, at::TensorOptions().dtype(at::kFloat).device(device));
  (void)x.sum().item<float>();  // warm-up: pages touched, kernels loaded
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    (void)x.sum().item<float>();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(x.nbytes()) / seconds);
  }
  return best;
}

// Set when a BM_Generate benchmark failed (reported through SkipWithError): the exit status.
bool generate_failed = false;

// One KVBENCH_BENCH_METHODS item, `name[:key=value]...`: the registry entry and its resolved params.
struct BenchMethod {
  std::string label;  // the item as given, the benchmark's name part
  const RegistryEntry<KVMethod>* entry = nullptr;
  nlohmann::json params;
};

BenchMethod parse_bench_method(const std::string& item) {
  BenchMethod out;
  out.label = item;
  std::stringstream parts(item);
  std::string name;
  std::getline(parts, name, ':');
  out.entry = KVMethodRegistry::instance().find(name);
  if (out.entry == nullptr) throw std::runtime_error("KVBENCH_BENCH_METHODS: no KV method named '" + name + "'");
  nlohmann::json given = nlohmann::json::object();
  for (std::string kv; std::getline(parts, kv, ':');) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::runtime_error("KVBENCH_BENCH_METHODS: '" + kv + "' in '" + item + "' is not key=value");
    const std::string value = kv.substr(eq + 1);
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    given[kv.substr(0, eq)] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  out.params = resolve_params(out.entry->params, given, "KVBENCH_BENCH_METHODS " + name, nullptr);
  return out;
}

void register_large(const std::string& dir) {
  static std::unique_ptr<CausalLM> model;
  const at::Device device = at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  const bool fp32 = test::env_or("KVBENCH_BENCH_MODEL_DTYPE", "bf16") == "fp32";
  model = CausalLM::load(dir, LoadOptions{fp32 ? at::kFloat : at::kBFloat16, device});
  const double measured_bandwidth = measured_read_bandwidth(device);
  std::stringstream contexts(test::env_or("KVBENCH_BENCH_CONTEXTS", "4096,32768,131072"));
  const double bandwidth = std::stod(test::env_or("KVBENCH_HBM_BW", "3.35e12"));
  const int64_t chunk = std::stoll(test::env_or("KVBENCH_BENCH_PREFILL_CHUNK", "0"));
  std::vector<BenchMethod> methods;
  std::stringstream method_list(test::env_or("KVBENCH_BENCH_METHODS", "full"));
  for (std::string item; std::getline(method_list, item, ',');) methods.push_back(parse_bench_method(item));
  for (std::string item; std::getline(contexts, item, ',');) {
    const int64_t context = std::stoll(item);
    for (const BenchMethod& bm : methods) {
      benchmark::RegisterBenchmark(("BM_Generate/" + bm.label + "/" + item).c_str(), [=](benchmark::State& state) {
        const CausalLM& m = *model;
        std::vector<int64_t> prompt(context);
        for (int64_t i = 0; i < context; ++i) prompt[i] = 4 + (i * 7919) % (m.config().vocab_size - 4);
        GenerateOptions opt;
        opt.max_new_tokens = 33;
        opt.stop_on_eos = false;
        opt.prefill_chunk = chunk;
        GenerateResult r;
        std::string error;
        for (auto _ : state) {
          try {
            auto method = bm.entry->make(bm.params);
            r = generate(m, *method, {prompt}, opt);
          } catch (const std::exception& e) {
            error = e.what();
            break;
          }
          state.SetIterationTime((r.prefill_ms + std::accumulate(r.decode_ms.begin(), r.decode_ms.end(), 0.0)) / 1e3);
        }
        if (!error.empty()) {
          generate_failed = true;
          state.SkipWithError(error.c_str());
          return;
        }
        const double tpot = std::accumulate(r.decode_ms.begin(), r.decode_ms.end(), 0.0) / static_cast<double>(r.decode_ms.size());
        const double roofline_ms = roofline_bytes(m, context) / bandwidth * 1e3;
        state.counters["ttft_ms"] = r.prefill_ms;
        state.counters["tpot_ms"] = tpot;
        state.counters["roofline_ms"] = roofline_ms;
        state.counters["fraction_of_roofline"] = roofline_ms / tpot;
        const double floor_ms = roofline_bytes(m, context) / measured_bandwidth * 1e3;
        state.counters["read_GBps_measured"] = measured_bandwidth / 1e9;
        state.counters["floor_ms"] = floor_ms;
        state.counters["fraction_of_floor"] = floor_ms / tpot;
        state.counters["prefill_ms_per_token"] = r.prefill_ms / static_cast<double>(context);
        state.counters["kv_device_bytes"] = static_cast<double>(r.kv.device_bytes);
        state.counters["kv_host_bytes"] = static_cast<double>(r.kv.host_bytes);
        state.counters["host_to_device_bytes"] = static_cast<double>(r.kv.host_to_device_bytes);
        state.counters["peak_device_bytes"] = static_cast<double>(r.kv.peak_device_bytes);
        if (r.peak_cuda_allocated_bytes >= 0)  // everything on the GPU: weights, activations, KV
          state.counters["peak_cuda_allocated_bytes"] = static_cast<double>(r.peak_cuda_allocated_bytes);
      })->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace
}  // namespace kvbench

int main(int argc, char** argv) {
  const std::string dir = kvbench::test::env_or("KVBENCH_BENCH_MODEL_DIR", "");
  if (!dir.empty()) kvbench::register_large(dir);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return kvbench::generate_failed ? 1 : 0;
}
