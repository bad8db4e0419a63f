// SPDX-License-Identifier: Apache-2.0
// Engine: what turns one sample into a prediction (model + tokenizer + chat template + KV method).
// The runner (harness/run/runner.h) drives an Engine over a task's samples and owns the run store; the
// product engine is harness/engine/hf_engine.cpp (registered under "hf"); tests may drive the runner
// with their own Engine.
// An engine is built from engine_config(run) (model + method) only; consecutive runs with the same
// engine_config share one engine, so every other setting of a run reaches it with each sample
// (GenerationSettings) and an engine keeps nothing of a run between calls.
#pragma once

#include "harness/kv/prefill_uses.h"
#include "harness/model/decode_limits.h"
#include "harness/registry.h"
#include "harness/task/task.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kvbench {

// Everything an engine needs for one sample besides the sample: the decode limits
// (max_new_tokens, prefill_chunk, stop_token_ids) and the run's per-run settings.
struct GenerationSettings : DecodeLimits {
  std::vector<std::string> stop;          // stop strings (the stop string itself is cut off)
  std::optional<bool> enable_thinking;    // task.params.enable_thinking, the chat template variable
                                          // (Qwen 3); unset: not passed
  bool per_step_accounting = false;       // output.per_step_accounting: also record kv.steps
  // Set by the runner when several cells of one group run this sample (harness/run/cell_group.h):
  // the union of their methods' PrefillUses. An engine whose method declares PrefillUses then
  // replays one recorded exact prefill of the prompt (recording it first if it holds none for this
  // prompt) instead of running its own; timing.prefill_mode says which (own/recorded/replayed).
  std::optional<PrefillUses> shared_prefill;
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
  // Several samples generated together (generation.batch_size > 1), results in the same order.
  // Throws when any sample cannot run; the runner then runs that batch one sample at a time, so each
  // error lands on its own sample. Default: one run() per sample.
  virtual std::vector<SampleResult> run_batch(const std::vector<const Sample*>& samples,
                                              const std::vector<GenerationSettings>& generations) {
    std::vector<SampleResult> out;
    for (size_t i = 0; i < samples.size(); ++i) out.push_back(run(*samples[i], generations[i]));
    return out;
  }
  // Drops the recorded shared prefill the engine (and the engines sharing its model) hold, if any:
  // the runner calls it when the cells of a group have all run the sample.
  virtual void release_shared_prefill() {}
};

// The part of a resolved run config an engine is built from, {"model": ..., "method": ...}: also
// the key under which consecutive runs share one engine.
inline nlohmann::json engine_config(const nlohmann::json& resolved_run) {
  return {{"model", resolved_run.at("model")}, {"method", resolved_run.at("method")}};
}

struct EngineFactory {
  virtual ~EngineFactory() = default;
  // `config`: engine_config() of a resolved run (a whole resolved run is accepted too; only its
  // model and method are read).
  virtual std::unique_ptr<Engine> create(const nlohmann::json& config) const = 0;
};
KVBENCH_REGISTRY_KIND(EngineFactory, "engine");
using EngineRegistry = Registry<EngineFactory>;

}  // namespace kvbench
