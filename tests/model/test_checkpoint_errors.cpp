// SPDX-License-Identifier: Apache-2.0
// Checkpoint loading without Python: safetensors dtype round trips, sharded folders, and every
// malformed-checkpoint case failing with its message (file and tensor named).
#include "harness/error.h"
#include "harness/model/architecture.h"
#include "harness/model/causal_lm.h"
#include "harness/model/checkpoint.h"
#include "harness/model/generate.h"
#include "harness/model/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <sys/stat.h>

namespace kvbench {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string tmp_dir() {
  const char* v = std::getenv("KVBENCH_TEST_TMP");
  std::string dir = std::string(v != nullptr ? v : "/tmp") + "/checkpoint_errors";
  ::mkdir(std::string(v != nullptr ? v : "/tmp").c_str(), 0755);
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// header JSON + raw data section.
std::string safetensors_bytes(const nlohmann::json& header, const std::string& data) {
  const std::string h = header.dump();
  return u64le(h.size()) + h + data;
}

struct NamedTensor {
  std::string name;
  at::Tensor tensor;   // CPU, contiguous
  std::string dtype;   // safetensors dtype name
};

// A well-formed file holding `tensors` in order.
std::string encode(const std::vector<NamedTensor>& tensors) {
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

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

std::string open_error(const std::string& name, const std::string& bytes) {
  const std::string path = tmp_dir() + "/" + name + ".safetensors";
  write_file(path, bytes);
  return error_of([&] { SafetensorsFile file(path); });
}

TEST(Safetensors, ReadsEveryDtypeZeroCopy) {
  at::Tensor ref = at::arange(12, at::kFloat).view({3, 4}) / 4.0;
  const std::string path = tmp_dir() + "/dtypes.safetensors";
  write_file(path, encode({{"bf16", ref.to(at::kBFloat16), "BF16"},
                           {"f16", ref.to(at::kHalf), "F16"},
                           {"f32", ref, "F32"},
                           {"f8", ref.to(at::kFloat8_e4m3fn), "F8_E4M3"}}));
  SafetensorsFile file(path);
  EXPECT_EQ(file.entries().size(), 4u);
  for (const char* name : {"bf16", "f16", "f32", "f8"}) {
    at::Tensor v = file.view(name);
    EXPECT_EQ(v.sizes(), ref.sizes()) << name;
    EXPECT_TRUE(at::equal(v.to(at::kFloat), ref)) << name;  // all values exact in every dtype
  }
  EXPECT_EQ(file.view("bf16").scalar_type(), at::kBFloat16);
  EXPECT_EQ(file.view("f8").scalar_type(), at::kFloat8_e4m3fn);
}

TEST(Safetensors, TruncatedFile) {
  EXPECT_THAT(open_error("tiny", "abc"), AllOf(HasSubstr("tiny.safetensors"), HasSubstr("truncated safetensors file")));
  at::Tensor t = at::ones({4, 4});
  std::string bytes = encode({{"w", t, "F32"}});
  EXPECT_THAT(open_error("cut", bytes.substr(0, bytes.size() - 5)),
              AllOf(HasSubstr("cut.safetensors"), HasSubstr("tensor 'w'"), HasSubstr("out of range"),
                    HasSubstr("truncated file")));
}

TEST(Safetensors, HeaderLengthPastEndOfFile) {
  EXPECT_THAT(open_error("hdr", u64le(1000) + "{}"),
              AllOf(HasSubstr("hdr.safetensors"), HasSubstr("header length 1000"), HasSubstr("past the end of the file")));
}

TEST(Safetensors, InvalidHeaderJson) {
  EXPECT_THAT(open_error("json", u64le(5) + "{oops"), AllOf(HasSubstr("json.safetensors"), HasSubstr("not valid JSON")));
}

TEST(Safetensors, OverlappingOffsets) {
  nlohmann::json h = {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}},
                      {"b", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {8, 24}}}}};
  EXPECT_THAT(open_error("overlap", safetensors_bytes(h, std::string(24, '\0'))),
              AllOf(HasSubstr("overlap.safetensors"), HasSubstr("tensor 'b'"), HasSubstr("overlap tensor 'a'")));
}

TEST(Safetensors, OutOfRangeOffsets) {
  nlohmann::json h = {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {64, 80}}}}};
  EXPECT_THAT(open_error("range", safetensors_bytes(h, std::string(16, '\0'))),
              AllOf(HasSubstr("range.safetensors"), HasSubstr("tensor 'a'"), HasSubstr("out of range")));
  nlohmann::json reversed = {{"a", {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {16, 0}}}}};
  EXPECT_THAT(open_error("reversed", safetensors_bytes(reversed, std::string(16, '\0'))),
              AllOf(HasSubstr("tensor 'a'"), HasSubstr("out of order")));
  nlohmann::json size = {{"a", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 16}}}}};
  EXPECT_THAT(open_error("size", safetensors_bytes(size, std::string(16, '\0'))),
              AllOf(HasSubstr("tensor 'a'"), HasSubstr("hold 16 bytes"), HasSubstr("need 12")));
}

TEST(Safetensors, UnknownDtype) {
  nlohmann::json h = {{"a", {{"dtype", "Q4"}, {"shape", {4}}, {"data_offsets", {0, 4}}}}};
  EXPECT_THAT(open_error("dtype", safetensors_bytes(h, std::string(4, '\0'))),
              AllOf(HasSubstr("dtype.safetensors"), HasSubstr("tensor 'a'"), HasSubstr("unsupported dtype 'Q4'"),
                    HasSubstr("BF16, F16, F32, F8_E4M3")));
}

// --- whole model folders ------------------------------------------------------------------------

nlohmann::json tiny_llama_config() {
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
std::string write_model(const std::string& name, const nlohmann::json& config,
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

std::string load_error(const std::string& dir) {
  return error_of([&] { CausalLM::load(dir, LoadOptions{at::kFloat, at::kCPU}); });
}

TEST(ModelFolder, ShardedAndSingleFileLoadTheSameModel) {
  const std::string single = write_model("single", tiny_llama_config());
  const std::string sharded = write_model("sharded", tiny_llama_config(), nullptr, 3);
  auto a = CausalLM::load(single, LoadOptions{at::kFloat, at::kCPU});
  auto b = CausalLM::load(sharded, LoadOptions{at::kBFloat16, at::kCPU});
  EXPECT_EQ(a->weights().get("model.layers.1.mlp.up_proj.weight").scalar_type(), at::kFloat);
  EXPECT_EQ(b->weights().get("model.layers.1.mlp.up_proj.weight").scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(a->weights().get("model.layers.1.mlp.up_proj.weight").to(at::kBFloat16),
                        b->weights().get("model.layers.1.mlp.up_proj.weight")));
  // Both generate (smoke: the forward runs end to end without Python).
  auto method = KVMethodRegistry::instance().find("full")->make({});
  GenerateOptions opt;
  opt.max_new_tokens = 4;
  opt.stop_on_eos = false;
  GenerateResult r = generate(*a, *method, {{5, 6, 7}}, opt);
  EXPECT_EQ(r.tokens[0].size(), 4u);
}

TEST(ModelFolder, MissingTensor) {
  const std::string dir = write_model("missing", tiny_llama_config(), [](std::vector<NamedTensor>& t) {
    t.erase(std::remove_if(t.begin(), t.end(), [](const NamedTensor& x) { return x.name == "model.layers.1.self_attn.k_proj.weight"; }), t.end());
  });
  EXPECT_THAT(load_error(dir), AllOf(HasSubstr("missing/model.safetensors"), HasSubstr("missing tensor 'model.layers.1.self_attn.k_proj.weight'")));
}

TEST(ModelFolder, ShapeMismatchWithConfig) {
  const std::string dir = write_model("shape", tiny_llama_config(), [](std::vector<NamedTensor>& t) {
    for (auto& x : t)
      if (x.name == "model.layers.0.self_attn.q_proj.weight") x.tensor = at::zeros({32, 32});
  });
  EXPECT_THAT(load_error(dir), AllOf(HasSubstr("shape/model.safetensors"), HasSubstr("tensor 'model.layers.0.self_attn.q_proj.weight'"),
                                     HasSubstr("has shape [32, 32] but config.json implies [64, 32]")));
}

TEST(ModelFolder, UnsupportedArchitectureListsSupported) {
  nlohmann::json config = tiny_llama_config();
  config["architectures"] = {"GPT2LMHeadModel"};
  const std::string dir = tmp_dir() + "/gpt2";
  ::mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/config.json") << config.dump();
  EXPECT_THAT(load_error(dir), AllOf(HasSubstr("gpt2/config.json"), HasSubstr("unsupported architecture 'GPT2LMHeadModel'"),
                                     HasSubstr("LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Qwen3MoeForCausalLM")));
}

TEST(ModelFolder, ShardIndexProblems) {
  const std::string dir = write_model("badindex", tiny_llama_config(), nullptr, 2);
  std::ifstream in(dir + "/model.safetensors.index.json");
  const nlohmann::json original = nlohmann::json::parse(in);
  nlohmann::json index = original;
  index["weight_map"]["model.norm.weight"] = "model-00009-of-00009.safetensors";
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
  EXPECT_THAT(load_error(dir), AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("shard 'model-00009-of-00009.safetensors'"),
                                     HasSubstr("does not exist")));
  index = original;
  index["weight_map"]["model.extra.weight"] = "model-00002-of-00002.safetensors";
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
  EXPECT_THAT(load_error(dir), AllOf(HasSubstr("model-00002-of-00002.safetensors: missing tensor 'model.extra.weight'"),
                                     HasSubstr("listed in"), HasSubstr("model.safetensors.index.json")));
  // A tensor the architecture needs but the index does not list.
  index = original;
  index["weight_map"].erase("model.layers.0.mlp.down_proj.weight");
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
  EXPECT_THAT(load_error(dir), AllOf(HasSubstr("model.safetensors.index.json: missing tensor 'model.layers.0.mlp.down_proj.weight'")));
}

TEST(ModelFolder, ConfigErrorsNameTheField) {
  nlohmann::json config = tiny_llama_config();
  config.erase("hidden_size");
  EXPECT_THAT(error_of([&] { parse_model_config(config, nullptr, "x/config.json"); }),
              AllOf(HasSubstr("x/config.json"), HasSubstr("missing field 'hidden_size'")));
  config = tiny_llama_config();
  config["rope_scaling"]["rope_type"] = "yarn";
  EXPECT_THAT(error_of([&] { parse_model_config(config, nullptr, "x/config.json"); }),
              AllOf(HasSubstr("rope type 'yarn'"), HasSubstr("supported: default, llama3")));
  config = tiny_llama_config();
  config["num_key_value_heads"] = 3;
  EXPECT_THAT(error_of([&] { parse_model_config(config, nullptr, "x/config.json"); }), HasSubstr("num_key_value_heads (3)"));
}

TEST(ModelFolder, ArchitectureRegistryListsAll) {
  EXPECT_EQ(architectures().names(), (std::vector<std::string>{"LlamaForCausalLM", "Qwen2ForCausalLM",
                                                               "Qwen3ForCausalLM", "Qwen3MoeForCausalLM"}));
}

}  // namespace
}  // namespace kvbench
