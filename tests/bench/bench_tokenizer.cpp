// SPDX-License-Identifier: Apache-2.0
// Google Benchmark for kvbench::Tokenizer: encode throughput (bytes/s) per tokenizer on the parity
// corpus (per document, like the Hugging Face side of scripts/bench_tokenizer_compare.py), one
// 128K-token prompt, decode, and loading. Environment: KVBENCH_DATA_DIR (../shared/data) and
// KVBENCH_TOKENIZER_CORPUS (corpus.bin from hf_tokenizer_reference.py corpus; default: the essays).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness/tokenizer/tokenizer.h"

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string data_dir() { return env_or("KVBENCH_DATA_DIR", "../shared/data"); }

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> docs = [] {
    std::vector<std::string> out;
    const std::string path = env_or("KVBENCH_TOKENIZER_CORPUS", "");
    if (!path.empty()) {
      const std::string bin = read_file(path);
      size_t pos = 0;
      auto u32 = [&] {
        uint32_t v;
        __builtin_memcpy(&v, bin.data() + pos, 4);
        pos += 4;
        return v;
      };
      const uint32_t n = u32();
      for (uint32_t i = 0; i < n; ++i) {
        pos += 1;  // valid flag
        const uint32_t len = u32();
        out.push_back(bin.substr(pos, len));
        pos += len;
      }
    } else {
      for (const auto& e : std::filesystem::directory_iterator(data_dir() + "/niah/paul_graham_essays"))
        out.push_back(read_file(e.path().string()));
    }
    return out;
  }();
  return docs;
}

const char* kNames[] = {"llama3", "llama3_1", "qwen3"};
std::string tokenizer_dir(int i) {
  const char* dirs[] = {"llama3", "llama3-lenml_llama3_1", "qwen3"};
  return data_dir() + "/tokenizers/" + dirs[i];
}

const kvbench::Tokenizer& tokenizer(int i) {
  static std::map<int, std::unique_ptr<kvbench::Tokenizer>> cache;
  auto& t = cache[i];
  if (!t) t = std::make_unique<kvbench::Tokenizer>(kvbench::Tokenizer::load(tokenizer_dir(i)));
  return *t;
}

void BM_EncodeCorpus(benchmark::State& state) {
  const auto& tok = tokenizer(int(state.range(0)));
  const auto& docs = corpus();
  size_t bytes = 0, tokens = 0;
  for (auto _ : state) {
    for (const std::string& d : docs) {
      auto ids = tok.encode(d, false);
      tokens += ids.size();
      bytes += d.size();
      benchmark::DoNotOptimize(ids.data());
    }
  }
  state.SetBytesProcessed(int64_t(bytes));
  state.counters["tokens_per_s"] = benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
  state.SetLabel(kNames[state.range(0)]);
}
BENCHMARK(BM_EncodeCorpus)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

// One long prompt (the essays concatenated, ~150K tokens): the prefill-sized case.
void BM_EncodeLongPrompt(benchmark::State& state) {
  const auto& tok = tokenizer(int(state.range(0)));
  std::string text;
  for (const auto& e : std::filesystem::directory_iterator(data_dir() + "/niah/paul_graham_essays"))
    text += read_file(e.path().string());
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tok.encode(text, false);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(text.size() * state.iterations()));
  state.counters["tokens"] = double(tokens);
  state.SetLabel(kNames[state.range(0)]);
}
BENCHMARK(BM_EncodeLongPrompt)->DenseRange(0, 2, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Decode(benchmark::State& state) {
  const auto& tok = tokenizer(int(state.range(0)));
  std::vector<std::vector<int32_t>> ids;
  size_t bytes = 0;
  for (const std::string& d : corpus()) ids.push_back(tok.encode(d, false));
  for (auto _ : state) {
    for (const auto& v : ids) {
      std::string s = tok.decode(v, false);
      bytes += s.size();
      benchmark::DoNotOptimize(s.data());
    }
  }
  state.SetBytesProcessed(int64_t(bytes));
  state.SetLabel(kNames[state.range(0)]);
}
BENCHMARK(BM_Decode)->DenseRange(0, 2, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Load(benchmark::State& state) {
  for (auto _ : state) {
    auto t = kvbench::Tokenizer::load(tokenizer_dir(int(state.range(0))));
    benchmark::DoNotOptimize(&t);
  }
  state.SetLabel(kNames[state.range(0)]);
}
BENCHMARK(BM_Load)->DenseRange(0, 2, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
