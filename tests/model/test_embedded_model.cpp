// SPDX-License-Identifier: Apache-2.0
// The embedded model (SmolLM2-135M-Instruct converted by scripts/convert_gguf_model.py) through
// kvbench vs Hugging Face transformers on the same folder: chat rendering and token ids identical,
// last-position logits within 1e-4 (fp32), greedy tokens identical; and the whole text-level engine
// ("hf": template -> tokenizer -> generate -> stop -> decode) reproduces transformers' text.
// Skips (exit 77) when setup has not converted the model (e.g. an offline machine).
#include "harness/config_document.h"
#include "harness/engine/engine.h"
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/run/run_config.h"
#include "harness/tokenizer/chat_template.h"
#include "harness/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace kvbench {
namespace {

using nlohmann::json;

std::string model_dir() { return expand_env("${KVBENCH_CACHE}/models/smollm2-135m-instruct"); }

const json& reference() {
  static const json ref = [] {
    const std::string out = std::string(std::getenv("KVBENCH_TEST_TMP")) + "/embedded_reference.json";
    std::filesystem::create_directories(std::getenv("KVBENCH_TEST_TMP"));
    const std::string cmd = std::string("'") + std::getenv("KVBENCH_PYTHON") + "' '" + KVBENCH_SOURCE_DIR +
                            "/scripts/reference/embedded_model_reference.py' '" + model_dir() + "' '" + out + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return json::parse(std::ifstream(out));
  }();
  return ref;
}

Conversation conversation(const json& messages) {
  Conversation c;
  for (const auto& m : messages) c.push_back({m["role"], m["content"]});
  return c;
}

class EmbeddedModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(model_dir() + "/config.json"))
      GTEST_SKIP() << "embedded model not converted (run scripts/setup.sh): " << model_dir();
  }
};

TEST_F(EmbeddedModel, TokenizerAndChatTemplateMatchTransformers) {
  Tokenizer tok = Tokenizer::load(model_dir());
  ChatTemplate tmpl = ChatTemplate::load(model_dir());
  for (const auto& c : reference()["cases"]) {
    std::string rendered = tmpl.render(conversation(c["messages"]));
    EXPECT_EQ(rendered, c["rendered"].get<std::string>());
    std::vector<int32_t> ids = tok.encode(rendered, false);
    EXPECT_EQ(std::vector<int64_t>(ids.begin(), ids.end()), c["ids"].get<std::vector<int64_t>>());
  }
  for (const auto& r : reference()["raw"]) {
    auto with = tok.encode(r["text"].get<std::string>(), true);
    auto without = tok.encode(r["text"].get<std::string>(), false);
    EXPECT_EQ(std::vector<int64_t>(with.begin(), with.end()), r["ids"].get<std::vector<int64_t>>()) << r["text"];
    EXPECT_EQ(std::vector<int64_t>(without.begin(), without.end()), r["ids_no_special"].get<std::vector<int64_t>>());
  }
}

TEST_F(EmbeddedModel, LogitsAndGreedyTokensMatchTransformers) {
  auto model = CausalLM::load(model_dir(), {at::kFloat, at::kCPU});
  for (const auto& c : reference()["cases"]) {
    std::vector<int64_t> ids = c["ids"].get<std::vector<int64_t>>();
    GenerateOptions options;
    options.max_new_tokens = 24;
    options.keep_logits = true;
    auto method = KVMethodRegistry::instance().find("full")->make({});
    GenerateResult result = generate(*model, *method, {ids}, options);
    at::Tensor expected = at::tensor(c["last_logits"].get<std::vector<float>>());
    double diff = (result.step_logits[0][0] - expected).abs().max().item<double>();
    EXPECT_LE(diff, 1e-4) << "prompt of " << ids.size() << " tokens";
    EXPECT_EQ(result.tokens[0], c["greedy"].get<std::vector<int64_t>>());
  }
}

TEST_F(EmbeddedModel, EngineReproducesTransformersText) {
  ConfigDocument doc = parse_config_text("task: {name: gsm8k}\nmodel: {dtype: float32, device: cpu}\n", "test");
  set_key_path(doc, "model.path", model_dir(), "test");
  json run = resolve_run_config(doc).resolved;
  auto engine = EngineRegistry::instance().find("hf")->make({})->create(run);
  EXPECT_EQ(engine->describe()["chat_template"], "smollm2");
  for (const auto& c : reference()["cases"]) {
    Sample sample;
    sample.id = "x";
    sample.messages = conversation(c["messages"]);
    GenerationSettings g;
    g.max_new_tokens = 24;
    SampleResult r = engine->run(sample, g);
    EXPECT_EQ(r.prediction, c["text"].get<std::string>());
    EXPECT_EQ(r.input_tokens, static_cast<int64_t>(c["ids"].size()));
    // A stop string cuts the text before it.
    std::string text = c["text"].get<std::string>();
    if (text.size() > 6) {
      g.stop = {text.substr(3, 3)};
      EXPECT_EQ(engine->run(sample, g).prediction, text.substr(0, text.find(g.stop[0])));
    }
  }
}

}  // namespace
}  // namespace kvbench
