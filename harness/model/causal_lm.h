// SPDX-License-Identifier: Apache-2.0
// CausalLM: a loaded decoder-only model (config, weights on the compute device, RoPE, architecture)
// and its forward pass over new tokens of a batch, with every layer's attention delegated to a
// KVMethod. Generation (prefill, decode loop, stopping) is in generate.h.
#pragma once

#include "harness/model/architecture.h"
#include "harness/model/model_config.h"
#include "harness/kv/rope.h"
#include "harness/model/weights.h"
#include "harness/kv/method.h"

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kvbench {

struct LoadOptions {
  at::ScalarType dtype = at::kBFloat16;   // compute dtype; checkpoint tensors are converted on load
  at::Device device = at::kCPU;
};

// New tokens of a batch: slots slot_offset .. slot_offset+T-1 of every sequence.
struct ForwardInput {
  at::Tensor tokens;       // [B, T] int64 (pad slots: any valid id)
  at::Tensor positions;    // [B, T] int64 RoPE positions (pad slots: 0)
  at::Tensor valid;        // [B, T] bool
  bool has_padding = false;
  int64_t slot_offset = 0;
  AttentionPhase phase = AttentionPhase::kPrefill;
  bool last_prefill_chunk = true;
  bool all_logits = false; // false: logits of the last slot only
};

class CausalLM {
 public:
  // Loads <folder> (config.json, generation_config.json, safetensors). Errors: kvbench::Error(kInput)
  // naming the file and tensor.
  static std::unique_ptr<CausalLM> load(const std::string& folder, const LoadOptions& options);

  const ModelConfig& config() const { return weights_.config(); }
  const ModelWeights& weights() const { return weights_; }
  const Rope& rope() const { return rope_; }
  // Shape, weights, RoPE and the computations methods may call (harness/kv/method.h ModelView);
  // valid while this model lives.
  ModelView view() const;
  // Attaches the tokenizer (text -> ids as a raw prompt) that view().tokenize exposes; the engine
  // sets it after loading both. Without it view().tokenize is null.
  void set_tokenizer(std::function<std::vector<int64_t>(const std::string&)> tokenize) {
    tokenize_ = std::move(tokenize);
  }
  at::ScalarType dtype() const { return weights_.dtype(); }
  at::Device device() const { return weights_.device(); }
  const std::string& folder() const { return folder_; }

  // Runs all layers over the new tokens; tensors may be on any device (moved to the model's).
  // Returns logits [B, T, vocab] (all_logits) or [B, 1, vocab], in the compute dtype.
  at::Tensor forward(const ForwardInput& input, KVMethod& method) const;

 private:
  CausalLM(std::string folder, ModelWeights weights, std::unique_ptr<Architecture> arch, Rope rope)
      : folder_(std::move(folder)), weights_(std::move(weights)), arch_(std::move(arch)), rope_(std::move(rope)) {}

  std::string folder_;
  ModelWeights weights_;
  std::unique_ptr<Architecture> arch_;
  Rope rope_;
  std::function<std::vector<int64_t>(const std::string&)> tokenize_;
};

}  // namespace kvbench
