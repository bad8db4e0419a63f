// SPDX-License-Identifier: Apache-2.0
// Checkpoint loading without Python: safetensors dtype round trips, sharded folders, and every
// malformed-checkpoint case failing with its message (file and tensor named).
#include "harness/error.h"
#include "harness/model/architecture.h"
#include "harness/model/causal_lm.h"
#include "harness/model/checkpoint.h"
#include "harness/model/generate.h"
#include "harness/model/safetensors.h"
#include "tests/model/cpp_checkpoint.h"

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
using namespace test;  // NOLINT: checkpoint writers

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
  config["rope_scaling"]["rope_type"] = "longrope";
  EXPECT_THAT(error_of([&] { parse_model_config(config, nullptr, "x/config.json"); }),
              AllOf(HasSubstr("rope type 'longrope'"), HasSubstr("supported: default, llama3, linear, dynamic, yarn")));
  config = tiny_llama_config();
  config["rope_scaling"] = {{"rope_type", "linear"}};
  EXPECT_THAT(error_of([&] { parse_model_config(config, nullptr, "x/config.json"); }),
              AllOf(HasSubstr("x/config.json (rope linear)"), HasSubstr("factor")));
  config = tiny_llama_config();
  config["num_key_value_heads"] = 3;
  EXPECT_THAT(error_of([&] { parse_model_config(config, nullptr, "x/config.json"); }), HasSubstr("num_key_value_heads (3)"));
}

// FP8 (and any other quantized) checkpoints are refused with the tensor or the config field named,
// never run with their scales ignored.
TEST(ModelFolder, QuantizedCheckpointsAreRefused) {
  const std::string fp8 = write_model("fp8", tiny_llama_config(), [](std::vector<NamedTensor>& t) {
    for (auto& x : t) {
      if (x.name != "model.layers.0.mlp.up_proj.weight") continue;
      x.tensor = x.tensor.to(at::kFloat8_e4m3fn).contiguous();
      x.dtype = "F8_E4M3";
    }
    // The block scale the FP8 format stores next to the weight (48x32 weight: one 128x128 block).
    t.push_back({"model.layers.0.mlp.up_proj.weight_scale_inv", at::full({1, 1}, 0.5), "F32"});
  });
  EXPECT_THAT(load_error(fp8), AllOf(HasSubstr("fp8/model.safetensors"), HasSubstr("tensor 'model.layers.0.mlp.up_proj.weight'"),
                                     HasSubstr("F8_E4M3"), HasSubstr("scales are not applied")));
  nlohmann::json config = tiny_llama_config();
  config["quantization_config"] = {{"quant_method", "fp8"}, {"weight_block_size", {128, 128}}};
  const std::string declared = write_model("fp8_declared", config);
  EXPECT_THAT(load_error(declared), AllOf(HasSubstr("fp8_declared/config.json"), HasSubstr("quantization_config.quant_method 'fp8'"),
                                          HasSubstr("not supported")));
  config["quantization_config"] = {{"quant_method", "gptq"}, {"bits", 4}};
  EXPECT_THAT(load_error(write_model("gptq", config)), HasSubstr("quant_method 'gptq'"));
}

TEST(ModelFolder, ArchitectureRegistryListsAll) {
  EXPECT_EQ(architectures().names(), (std::vector<std::string>{"LlamaForCausalLM", "Qwen2ForCausalLM",
                                                               "Qwen3ForCausalLM", "Qwen3MoeForCausalLM"}));
}

}  // namespace
}  // namespace kvbench
