// SPDX-License-Identifier: Apache-2.0
// Chat templates vs transformers' apply_chat_template, run at test time through
// scripts/reference/hf_tokenizer_reference.py chat: rendered strings and token ids for every
// supported template on 9 conversations x add_generation_prompt on/off (x dates for Llama 3.1/3.2,
// x enable_thinking unset/true/false for Qwen 3).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "harness/tokenizer/chat_template.h"
#include "harness/tokenizer/tokenizer.h"
#include "tests/unit/tokenizer_test_util.h"

namespace kvbench {
namespace {

TEST(ChatTemplateParity, MatchesTransformers) {
  const std::string out = test::tmp_dir() + "/chat_template_parity/cases.json";
  std::filesystem::create_directories(std::filesystem::path(out).parent_path());
  const std::string cmd = test::python() + " " + test::source_dir() +
                          "/scripts/reference/hf_tokenizer_reference.py chat --data-dir " +
                          test::data_dir() + " --out " + out;
  ASSERT_EQ(test::run_command(cmd), 0) << cmd;
  const nlohmann::json cases = nlohmann::json::parse(test::read_file(out));
  std::map<std::string, std::unique_ptr<Tokenizer>> tokenizers;
  std::map<std::string, int> per_template;
  for (const auto& c : cases) {
    const std::string name = c["template"];
    // Load the template the way the harness does: a .jinja file, or the model folder.
    const ChatTemplate tmpl = c["template_path"].is_null()
                                  ? ChatTemplate::load(c["model_dir"].get<std::string>())
                                  : ChatTemplate::load_file(c["template_path"].get<std::string>(),
                                                            c["bos_token"].get<std::string>());
    EXPECT_EQ(tmpl.name(), name);
    Conversation conv;
    for (const auto& m : c["messages"]) conv.push_back({m["role"], m["content"]});
    ChatTemplateOptions opt;
    opt.add_generation_prompt = c["add_generation_prompt"];
    if (c["extra"].contains("enable_thinking")) opt.enable_thinking = c["extra"]["enable_thinking"].get<bool>();
    if (c["extra"].contains("date_string")) opt.date_string = c["extra"]["date_string"];
    const std::string label = name + "/" + c["conversation"].get<std::string>() +
                              (opt.add_generation_prompt ? "/gen" : "/nogen") + "/" + c["extra"].dump();
    const std::string rendered = tmpl.render(conv, opt);
    EXPECT_EQ(rendered, c["rendered"].get<std::string>()) << label;
    if (!c["input_ids"].is_null()) {
      const std::string path = c["tokenizer"];
      auto& tok = tokenizers[path];
      if (!tok) tok = std::make_unique<Tokenizer>(Tokenizer::load(path));
      EXPECT_EQ(tok->encode(rendered, false), c["input_ids"].get<std::vector<int32_t>>()) << label;
    }
    ++per_template[name];
  }
  for (const char* n : {"llama3", "llama3-generation", "llama3.1", "llama3.2", "qwen2.5", "qwen3", "smollm2"})
    EXPECT_GE(per_template[n], 5) << n;
}

}  // namespace
}  // namespace kvbench
