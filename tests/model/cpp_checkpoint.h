// SPDX-License-Identifier: Apache-2.0
// Test helper: writes safetensors files and whole tiny model folders from C++ (random F32 weights
// for every tensor an architecture's weight_specs lists), so loader tests need no Python.
#pragma once

#include "harness/model/architecture.h"
#include "harness/model/model_config.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace kvbench::test {

inline std::string tmp_dir() {
  const char* v = std::getenv("KVBENCH_TEST_TMP");
  std::string dir = std::string(v != nullptr ? v : "/tmp") + "/cpp_checkpoints";
  ::mkdir(std::string(v != nullptr ? v : "/tmp").c_str(), 0755);
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string u64le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// header JSON + raw data section.
inline std::string safetensors_bytes(const nlohmann::json& header, const std::string& data) {
  const std::string h = header.dump();
  return u64le(h.size()) + h + data;
}

struct NamedTensor {
  std::string name;
  at::Tensor tensor;   // CPU, contiguous
  std::string dtype;   // safetensors dtype name
};

// A well-formed file holding `tensors` in order.
inline std::string encode(const std::vector<NamedTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& t : tensors) {
    const auto* p = static_cast<const char*>(t.tensor.data_ptr());
    const size_t n = t.tensor.nbytes();
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.tensor.sizes().vec()}, {"data_offsets", {data.size(), data.size() + n}}};
    data.append(p, n);
  }
  return safetensors_bytes(header, data);
}

inline nlohmann::json tiny_llama_config() {
  return {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 64},
          {"hidden_size", 32}, {"intermediate_size", 48}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 16},
          {"rms_norm_eps", 1e-5}, {"tie_word_embeddings", false}, {"eos_token_id", 2},
          {"rope_theta", 500000.0},
          {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                            {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}}}};
}

// Writes a folder with config.json and random F32 weights for every spec'd tensor; `edit` may
// change the tensor list first. shards > 1 splits the tensors round-robin and writes the index.
inline std::string write_model(const std::string& name, const nlohmann::json& config,
                        const std::function<void(std::vector<NamedTensor>&)>& edit = nullptr, int shards = 1) {
  const std::string dir = tmp_dir() + "/" + name;
  std::system(("rm -rf '" + dir + "'").c_str());
  ::mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/config.json") << config.dump(1);
  ModelConfig parsed = parse_model_config(config, nullptr, dir + "/config.json");
  std::vector<NamedTensor> tensors;
  at::manual_seed(7);
  for (const WeightSpec& spec : find_architecture(parsed).make({})->weight_specs(parsed))
    tensors.push_back({spec.name, at::randn(spec.shape) * 0.2, "F32"});
  if (edit) edit(tensors);
  if (shards == 1) {
    write_file(dir + "/model.safetensors", encode(tensors));
    return dir;
  }
  nlohmann::json weight_map = nlohmann::json::object();
  for (int s = 0; s < shards; ++s) {
    std::vector<NamedTensor> part;
    const std::string file = "model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(shards) + ".safetensors";
    for (size_t i = s; i < tensors.size(); i += shards) {
      part.push_back(tensors[i]);
      weight_map[tensors[i].name] = file;
    }
    write_file(dir + "/" + file, encode(part));
  }
  std::ofstream(dir + "/model.safetensors.index.json") << nlohmann::json{{"metadata", nlohmann::json::object()}, {"weight_map", weight_map}}.dump();
  return dir;
}

}  // namespace kvbench::test
