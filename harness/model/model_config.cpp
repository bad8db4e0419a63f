// SPDX-License-Identifier: Apache-2.0
// config.json / generation_config.json parsing.
#include "harness/model/model_config.h"

#include "harness/error.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace kvbench {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  KVBENCH_CHECK_INPUT(in.good(), path, ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    KVBENCH_FAIL(ErrorKind::kInput, path, ": invalid JSON: ", e.what());
  }
}

template <class T>
T get_required(const nlohmann::json& j, const char* key, const std::string& path) {
  KVBENCH_CHECK_INPUT(j.contains(key) && !j[key].is_null(), path, ": missing field '", key, "'");
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    KVBENCH_FAIL(ErrorKind::kInput, path, ": field '", key, "' has the wrong type (", j[key].dump(), ")");
  }
}

template <class T>
T get_or(const nlohmann::json& j, const char* key, T fallback, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    KVBENCH_FAIL(ErrorKind::kInput, path, ": field '", key, "' has the wrong type (", j[key].dump(), ")");
  }
}

void add_eos(const nlohmann::json& j, const std::string& path, std::vector<int64_t>* out) {
  if (!j.contains("eos_token_id") || j["eos_token_id"].is_null()) return;
  const auto& v = j["eos_token_id"];
  std::vector<int64_t> ids;
  if (v.is_number_integer()) {
    ids.push_back(v.get<int64_t>());
  } else {
    KVBENCH_CHECK_INPUT(v.is_array(), path, ": field 'eos_token_id' must be an integer or a list");
    for (const auto& x : v) {
      KVBENCH_CHECK_INPUT(x.is_number_integer(), path, ": field 'eos_token_id' must hold integers");
      ids.push_back(x.get<int64_t>());
    }
  }
  for (int64_t id : ids)
    if (std::find(out->begin(), out->end(), id) == out->end()) out->push_back(id);
}

// YaRN's attention factor when the config gives none: 0.1 * mscale * ln(factor) + 1 (1 for factor <= 1).
double yarn_mscale(double factor, double mscale) { return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0; }

RopeConfig parse_rope(const nlohmann::json& c, const std::string& path) {
  RopeConfig rope;
  // transformers 5 writes rope_parameters; checkpoints on the Hub carry rope_theta + rope_scaling.
  nlohmann::json params = nlohmann::json::object();
  if (c.contains("rope_parameters") && c["rope_parameters"].is_object()) params = c["rope_parameters"];
  else if (c.contains("rope_scaling") && c["rope_scaling"].is_object()) params = c["rope_scaling"];
  rope.theta = get_or<double>(params, "rope_theta", get_or<double>(c, "rope_theta", 10000.0, path), path);
  std::string type = get_or<std::string>(params, "rope_type", get_or<std::string>(params, "type", "default", path), path);
  rope.type = type;
  const int64_t max_positions = get_or<int64_t>(c, "max_position_embeddings", 0, path);
  const std::string where = path + " (rope " + type + ")";
  if (type == "llama3") {
    rope.factor = get_required<double>(params, "factor", where);
    rope.low_freq_factor = get_required<double>(params, "low_freq_factor", where);
    rope.high_freq_factor = get_required<double>(params, "high_freq_factor", where);
    rope.original_max_position_embeddings = get_required<int64_t>(params, "original_max_position_embeddings", where);
  } else if (type == "linear") {
    rope.factor = get_required<double>(params, "factor", where);
    KVBENCH_CHECK_INPUT(rope.factor > 0, where, ": factor must be > 0, got ", rope.factor);
  } else if (type == "dynamic") {
    rope.factor = get_required<double>(params, "factor", where);
    rope.max_position_embeddings = max_positions;
    KVBENCH_CHECK_INPUT(rope.factor >= 1 && max_positions > 0, where,
                        ": needs factor >= 1 and max_position_embeddings > 0 (got factor ", rope.factor,
                        ", max_position_embeddings ", max_positions, ")");
  } else if (type == "yarn") {
    // The pretraining window: a top-level original_max_position_embeddings wins (as transformers'
    // standardize_rope_params does), then the rope parameters', then max_position_embeddings.
    rope.original_max_position_embeddings = get_or<int64_t>(
        c, "original_max_position_embeddings",
        get_or<int64_t>(params, "original_max_position_embeddings", max_positions, where), where);
    KVBENCH_CHECK_INPUT(rope.original_max_position_embeddings > 0, where,
                        ": original_max_position_embeddings (or max_position_embeddings) is required");
    const bool has_factor = params.contains("factor") && !params["factor"].is_null();
    rope.factor = has_factor ? get_required<double>(params, "factor", where)
                             : static_cast<double>(max_positions) / rope.original_max_position_embeddings;
    const bool has_attention_factor = params.contains("attention_factor") && !params["attention_factor"].is_null();
    const double mscale = params.contains("mscale") && params["mscale"].is_number() ? params["mscale"].get<double>() : 0;
    const double mscale_all_dim = params.contains("mscale_all_dim") && params["mscale_all_dim"].is_number()
                                      ? params["mscale_all_dim"].get<double>() : 0;
    if (has_attention_factor) rope.attention_factor = get_required<double>(params, "attention_factor", where);
    else if (mscale != 0 && mscale_all_dim != 0)
      rope.attention_factor = yarn_mscale(rope.factor, mscale) / yarn_mscale(rope.factor, mscale_all_dim);
    else rope.attention_factor = yarn_mscale(rope.factor, 1.0);
    // transformers reads these with `or`: a missing, null or zero value takes the default.
    auto positive_or = [&](const char* key, double fallback) {
      return params.contains(key) && params[key].is_number() && params[key].get<double>() != 0 ? params[key].get<double>()
                                                                                               : fallback;
    };
    rope.beta_fast = positive_or("beta_fast", 32.0);
    rope.beta_slow = positive_or("beta_slow", 1.0);
    rope.truncate = get_or<bool>(params, "truncate", true, where);
  } else {
    KVBENCH_CHECK_INPUT(type == "default", path, ": rope type '", type,
                        "' is not supported (supported: default, llama3, linear, dynamic, yarn)");
  }
  return rope;
}

}  // namespace

bool ModelConfig::is_moe_layer(int64_t layer) const {
  if (num_experts <= 0) return false;
  if (std::find(mlp_only_layers.begin(), mlp_only_layers.end(), layer) != mlp_only_layers.end())
    return false;
  return (layer + 1) % decoder_sparse_step == 0;
}

ModelConfig parse_model_config(const nlohmann::json& c, const nlohmann::json& generation,
                               const std::string& path) {
  KVBENCH_CHECK_INPUT(c.is_object(), path, ": not a JSON object");
  ModelConfig m;
  m.raw = c;
  m.path = path;
  KVBENCH_CHECK_INPUT(c.contains("architectures") && c["architectures"].is_array() &&
                          !c["architectures"].empty() && c["architectures"][0].is_string(),
                      path, ": missing field 'architectures' (a list naming the model class)");
  m.architecture = c["architectures"][0].get<std::string>();
  m.model_type = get_or<std::string>(c, "model_type", "", path);
  m.vocab_size = get_required<int64_t>(c, "vocab_size", path);
  m.hidden_size = get_required<int64_t>(c, "hidden_size", path);
  m.intermediate_size = get_or<int64_t>(c, "intermediate_size", 0, path);
  m.num_layers = get_required<int64_t>(c, "num_hidden_layers", path);
  m.num_heads = get_required<int64_t>(c, "num_attention_heads", path);
  m.num_kv_heads = get_or<int64_t>(c, "num_key_value_heads", m.num_heads, path);
  KVBENCH_CHECK_INPUT(m.num_heads > 0 && m.num_kv_heads > 0 && m.num_heads % m.num_kv_heads == 0, path,
                      ": num_attention_heads (", m.num_heads,
                      ") must be a positive multiple of num_key_value_heads (", m.num_kv_heads, ")");
  m.head_dim = get_or<int64_t>(c, "head_dim", 0, path);
  if (m.head_dim == 0) {
    KVBENCH_CHECK_INPUT(m.hidden_size % m.num_heads == 0, path, ": hidden_size (", m.hidden_size,
                        ") is not a multiple of num_attention_heads and head_dim is not given");
    m.head_dim = m.hidden_size / m.num_heads;
  }
  KVBENCH_CHECK_INPUT(m.head_dim % 2 == 0, path, ": head_dim must be even for RoPE, got ", m.head_dim);
  m.rms_norm_eps = get_or<double>(c, "rms_norm_eps", 1e-6, path);
  m.tie_word_embeddings = get_or<bool>(c, "tie_word_embeddings", false, path);
  m.attention_bias = get_or<bool>(c, "attention_bias", false, path);
  m.mlp_bias = get_or<bool>(c, "mlp_bias", false, path);
  m.max_position_embeddings = get_or<int64_t>(c, "max_position_embeddings", 0, path);
  const std::string act = get_or<std::string>(c, "hidden_act", "silu", path);
  KVBENCH_CHECK_INPUT(act == "silu", path, ": hidden_act '", act, "' is not supported (supported: silu)");
  KVBENCH_CHECK_INPUT(!get_or<bool>(c, "use_sliding_window", false, path), path,
                      ": use_sliding_window=true is not supported");
  m.rope = parse_rope(c, path);
  m.num_experts = get_or<int64_t>(c, "num_experts", get_or<int64_t>(c, "num_local_experts", 0, path), path);
  m.num_experts_per_tok = get_or<int64_t>(c, "num_experts_per_tok", 0, path);
  m.moe_intermediate_size = get_or<int64_t>(c, "moe_intermediate_size", 0, path);
  m.norm_topk_prob = get_or<bool>(c, "norm_topk_prob", false, path);
  m.decoder_sparse_step = std::max<int64_t>(1, get_or<int64_t>(c, "decoder_sparse_step", 1, path));
  m.mlp_only_layers = get_or<std::vector<int64_t>>(c, "mlp_only_layers", {}, path);
  add_eos(c, path, &m.eos_token_ids);
  if (generation.is_object()) add_eos(generation, path + " (generation_config.json)", &m.eos_token_ids);
  return m;
}

ModelConfig load_model_config(const std::string& folder) {
  namespace fs = std::filesystem;
  const std::string config_path = (fs::path(folder) / "config.json").string();
  KVBENCH_CHECK_INPUT(fs::exists(config_path), folder, ": not a Hugging Face model folder (no config.json)");
  nlohmann::json config = read_json(config_path);
  nlohmann::json generation;
  const std::string gen_path = (fs::path(folder) / "generation_config.json").string();
  if (fs::exists(gen_path)) generation = read_json(gen_path);
  return parse_model_config(config, generation, config_path);
}

}  // namespace kvbench
