// SPDX-License-Identifier: Apache-2.0
// Engine: what turns one sample into a prediction (model + tokenizer + chat template + KV method).
// The runner (harness/run/runner.h) drives an Engine over a task's samples and owns the run store; the
// product engine is harness/model/ (registered under "hf"); tests may drive the runner with their
// own Engine.
#pragma once

#include "harness/task/task.h"
#include "harness/registry.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kvbench {

struct GenerationSettings {
  int max_new_tokens = 256;
  std::vector<std::string> stop;         // stop strings (the stop string itself is cut off)
  std::vector<int64_t> stop_token_ids;   // in addition to the model's EOS ids
  int prefill_chunk = 0;                 // tokens per prefill chunk; 0 = whole prompt at once
};

struct SampleResult {
  std::string prediction;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  std::string prompt_sha256;             // of the rendered prompt text
  nlohmann::json timing = nlohmann::json::object();  // prefill_ms, decode_ms, ttft_ms, tpot_ms
  nlohmann::json memory = nlohmann::json::object();  // peak bytes, KV bytes device/host
  nlohmann::json kv = nlohmann::json::object();      // method accounting (tokens attended, h2d bytes)
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Facts recorded in env.json/config (model name, dtype, device, tokenizer, template hash).
  virtual nlohmann::json describe() const = 0;
  virtual const Tokenizer* tokenizer() const = 0;
  virtual SampleResult run(const Sample& sample, const GenerationSettings& generation) = 0;
};

// Engines are created from the resolved run config (the whole JSON object of one run).
struct EngineFactory {
  virtual ~EngineFactory() = default;
  virtual std::unique_ptr<Engine> create(const nlohmann::json& run_config) const = 0;
};
KVBENCH_REGISTRY_KIND(EngineFactory, "engine");
using EngineRegistry = Registry<EngineFactory>;

}  // namespace kvbench
