// SPDX-License-Identifier: Apache-2.0
// Chat templates without Python: the 18 known-good vectors in
// ../shared/data/tokenizers/test_vectors/chat_template_vectors.jsonl (string and ids), template
// recognition from model folders, and the errors for unknown templates and bad conversations.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "harness/error.h"
#include "harness/tokenizer/chat_template.h"
#include "harness/tokenizer/tokenizer.h"
#include "tests/unit/tokenizer_test_util.h"

namespace kvbench {
namespace {

std::string template_file(const std::string& vector_name) {
  const std::string d = test::data_dir() + "/tokenizers/chat_templates/";
  if (vector_name == "llama3-instruct") return d + "meta-llama-Meta-Llama-3-8B-Instruct.from-lenml.jinja";
  if (vector_name == "llama3.1-instruct") return d + "meta-llama-Llama-3.1-8B-Instruct.jinja";
  if (vector_name == "llama3.2-instruct") return d + "meta-llama-Llama-3.2-3B-Instruct.jinja";
  if (vector_name == "qwen2.5-instruct") return d + "Qwen-Qwen2.5-7B-Instruct.jinja";
  return d + "Qwen-Qwen3-0.6B.jinja";
}

TEST(ChatTemplate, KnownGoodVectors) {
  std::ifstream in(test::data_dir() + "/tokenizers/test_vectors/chat_template_vectors.jsonl");
  ASSERT_TRUE(in.good());
  std::string line;
  int n = 0;
  std::map<std::string, std::unique_ptr<Tokenizer>> tokenizers;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto v = nlohmann::json::parse(line);
    const auto& extra = v["extra_template_vars"];
    const ChatTemplate t =
        ChatTemplate::load_file(template_file(v["template"]), extra.value("bos_token", ""));
    Conversation conv;
    for (const auto& m : v["messages"]) conv.push_back({m["role"], m["content"]});
    ChatTemplateOptions opt;
    opt.add_generation_prompt = v["add_generation_prompt"];
    if (extra.contains("enable_thinking")) opt.enable_thinking = extra["enable_thinking"].get<bool>();
    if (extra.contains("date_string")) opt.date_string = extra["date_string"];
    const std::string rendered = t.render(conv, opt);
    const std::string label = v["template"].get<std::string>() + "/" + v["case"].get<std::string>();
    EXPECT_EQ(rendered, v["rendered"].get<std::string>()) << label;
    auto& tok = tokenizers[v["tokenizer_file"]];
    if (!tok) tok = std::make_unique<Tokenizer>(Tokenizer::load(test::data_dir() + "/" + v["tokenizer_file"].get<std::string>()));
    EXPECT_EQ(tok->encode(rendered, false), v["input_ids"].get<std::vector<int32_t>>()) << label;
    ++n;
  }
  EXPECT_EQ(n, 18);
}

TEST(ChatTemplate, LoadsFromModelFolder) {
  const std::string t = test::data_dir() + "/tokenizers/";
  EXPECT_EQ(ChatTemplate::load(t + "llama3").kind(), ChatTemplateKind::kLlama3);
  EXPECT_EQ(ChatTemplate::load(t + "llama3-lenml_llama3_1").kind(), ChatTemplateKind::kLlama3Generation);
  EXPECT_EQ(ChatTemplate::load(t + "qwen3").kind(), ChatTemplateKind::kQwen3);
  // The folder's bos_token is used.
  const std::string s = ChatTemplate::load(t + "llama3").render({{"user", "hi"}});
  EXPECT_EQ(s.rfind("<|begin_of_text|>", 0), 0u);
}

TEST(ChatTemplate, PrefersChatTemplateJinjaInTheFolder) {
  // A model folder whose tokenizer_config.json has no template but a chat_template.jinja file.
  const std::string dir = test::tmp_dir() + "/chat_template_folder";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/tokenizer_config.json") << R"({"bos_token": {"content": "<|begin_of_text|>"}})";
  std::ofstream(dir + "/chat_template.jinja") << test::read_file(template_file("llama3.1-instruct"));
  const ChatTemplate t = ChatTemplate::load(dir);
  EXPECT_EQ(t.kind(), ChatTemplateKind::kLlama31);
  EXPECT_EQ(t.render({{"user", "hi"}}).rfind("<|begin_of_text|><|start_header_id|>system", 0), 0u);
  std::filesystem::remove(dir + "/chat_template.jinja");
  EXPECT_THROW(ChatTemplate::load(dir), Error);  // neither source: clear error
}

TEST(ChatTemplate, RejectsUnknownTemplateWithItsHash) {
  const std::string text = "{% for m in messages %}{{ m.content }}{% endfor %}";
  try {
    ChatTemplate::from_text(text, "", "my/tokenizer_config.json: chat_template");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInput);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("my/tokenizer_config.json: chat_template"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("unrecognized chat template"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("qwen3"));
  }
  // Recognition ignores CRLF line endings and outer whitespace only.
  const std::string qwen = test::read_file(template_file("qwen3"));
  std::string crlf;
  for (char c : qwen) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_EQ(ChatTemplate::template_hash(qwen), ChatTemplate::template_hash("\n  " + crlf + "\n"));
  EXPECT_NE(ChatTemplate::template_hash(qwen), ChatTemplate::template_hash(qwen + "x"));
}

TEST(ChatTemplate, RejectsBadConversations) {
  const ChatTemplate t = ChatTemplate::load_file(template_file("qwen3"), "");
  EXPECT_THROW(t.render({}), Error);
  try {
    t.render({{"user", "a"}, {"tool", "b"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("messages[1].role = \"tool\""));
  }
}

TEST(ChatTemplate, DateIsDeterministic) {
  const ChatTemplate t = ChatTemplate::load_file(template_file("llama3.2-instruct"), "<|begin_of_text|>");
  EXPECT_THAT(t.render({{"user", "x"}}), ::testing::HasSubstr("Today Date: 26 Jul 2024\n"));
  ChatTemplateOptions o;
  o.date_string = "01 Jan 2030";
  EXPECT_THAT(t.render({{"user", "x"}}, o), ::testing::HasSubstr("Today Date: 01 Jan 2030\n"));
}

}  // namespace
}  // namespace kvbench
