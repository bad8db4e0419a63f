// SPDX-License-Identifier: Apache-2.0
// ModelConfig: the fields of a Hugging Face config.json (and generation_config.json) that the
// decoder architectures use, parsed and checked once. Accepts both the transformers-4 layout
// (rope_theta + rope_scaling) and the transformers-5 layout (rope_parameters).
#pragma once

#include "harness/kv/kv_shape.h"
#include "harness/kv/rope.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kvbench {

struct ModelConfig {
  std::string architecture;          // architectures[0], e.g. "LlamaForCausalLM"
  std::string model_type;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;             // query heads
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  bool attention_bias = false;       // bias on q/k/v/o (Llama's attention_bias)
  bool mlp_bias = false;
  int64_t max_position_embeddings = 0;
  RopeConfig rope;
  // Mixture of experts (Qwen3MoeForCausalLM)
  int64_t num_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t moe_intermediate_size = 0;
  bool norm_topk_prob = false;
  int64_t decoder_sparse_step = 1;
  std::vector<int64_t> mlp_only_layers;
  // EOS ids of config.json and generation_config.json together (deduplicated, in order).
  std::vector<int64_t> eos_token_ids;
  nlohmann::json raw;                // config.json as read
  std::string path;                  // config.json path, for messages

  // True when layer `layer` uses the sparse MoE block (else the dense MLP).
  bool is_moe_layer(int64_t layer) const;
  // The dimensions KV methods size their storage by.
  KVShape kv_shape() const { return {num_layers, num_heads, num_kv_heads, head_dim}; }
};

// Reads <folder>/config.json and, when present, <folder>/generation_config.json.
// Throws kvbench::Error(kInput) naming the file and field.
ModelConfig load_model_config(const std::string& folder);
ModelConfig parse_model_config(const nlohmann::json& config, const nlohmann::json& generation,
                               const std::string& path);

}  // namespace kvbench
