// SPDX-License-Identifier: Apache-2.0
// Template recognition and loading (see chat_template.h); the renderers are in chat_renderers.cpp.
#include "harness/tokenizer/chat_template.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/error.h"
#include "harness/tokenizer/chat_renderers.h"

namespace kvbench {

namespace {

struct Known {
  uint64_t hash;
  ChatTemplateKind kind;
  const char* name;
};

// Hashes of the normalized template texts (see template_hash), with where each text comes from.
constexpr Known kKnown[] = {
    // Meta-Llama-3-8B-Instruct as packaged by lenml (tokenizers/llama3/tokenizer_config.json).
    {0x74891e390e614ae2ull, ChatTemplateKind::kLlama3, "llama3"},
    // lenml "llama3_1" package (tokenizers/llama3-lenml_llama3_1/tokenizer_config.json).
    {0x0e60067a5537498eull, ChatTemplateKind::kLlama3Generation, "llama3-generation"},
    {0xcc0368e1ffb6b958ull, ChatTemplateKind::kLlama31, "llama3.1"},  // Llama-3.1-8B-Instruct
    {0x368f4c34b8554414ull, ChatTemplateKind::kLlama32, "llama3.2"},  // Llama-3.2-3B-Instruct
    {0xe642ce246d7f2e3dull, ChatTemplateKind::kQwen25, "qwen2.5"},    // Qwen2.5-7B-Instruct
    {0x2bfdb7aa9754484eull, ChatTemplateKind::kQwen3, "qwen3"},       // Qwen3-0.6B
    // SmolLM2-Instruct tokenizer_config.json chat_template (ChatML + default system prompt).
    {0x45ec583d4d25bc3aull, ChatTemplateKind::kSmolLM2, "smollm2"},
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  KVBENCH_CHECK_INPUT(in.good(), path, ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string json_string_or_content(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return "";
}

}  // namespace

uint64_t ChatTemplate::template_hash(const std::string& text) {
  // Normalize: CRLF -> LF (Jinja does the same to template source), trim outer whitespace.
  std::string t;
  t.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i)
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) t.push_back(text[i]);
  const size_t b = t.find_first_not_of(" \t\n\r");
  const size_t e = t.find_last_not_of(" \t\n\r");
  uint64_t h = 0xcbf29ce484222325ull;
  if (b == std::string::npos) return h;
  for (size_t i = b; i <= e; ++i) {
    h ^= static_cast<unsigned char>(t[i]);
    h *= 0x100000001b3ull;
  }
  return h;
}

ChatTemplate ChatTemplate::from_text(const std::string& text, const std::string& bos_token,
                                     const std::string& source) {
  const uint64_t h = template_hash(text);
  for (const Known& k : kKnown)
    if (k.hash == h) return ChatTemplate(k.kind, h, bos_token);
  std::ostringstream hex;
  hex << "0x" << std::hex << std::setw(16) << std::setfill('0') << h;
  std::string names;
  for (const Known& k : kKnown) names += std::string(names.empty() ? "" : ", ") + k.name;
  KVBENCH_FAIL(ErrorKind::kInput, source, ": unrecognized chat template (normalized-text hash ",
               hex.str(), ", ", text.size(), " chars, starts \"", text.substr(0, 60),
               "\"); supported templates: ", names,
               ". kvbench renders known templates natively (harness/tokenizer/chat_template.h)");
}

ChatTemplate ChatTemplate::load_file(const std::string& path, const std::string& bos_token) {
  return from_text(read_text(path), bos_token, path);
}

ChatTemplate ChatTemplate::load(const std::string& model_dir) {
  namespace fs = std::filesystem;
  const fs::path dir = model_dir;
  const fs::path config_path = dir / "tokenizer_config.json";
  std::error_code ec;
  nlohmann::json config = nlohmann::json::object();
  if (fs::is_regular_file(config_path, ec)) {
    try {
      config = nlohmann::json::parse(read_text(config_path.string()));
    } catch (const nlohmann::json::exception& e) {
      KVBENCH_FAIL(ErrorKind::kInput, config_path.string(), ": not valid JSON: ", e.what());
    }
  }
  const std::string bos = config.contains("bos_token") ? json_string_or_content(config["bos_token"]) : "";
  const fs::path jinja = dir / "chat_template.jinja";
  if (fs::is_regular_file(jinja, ec)) return load_file(jinja.string(), bos);
  KVBENCH_CHECK_INPUT(config.contains("chat_template"), model_dir,
                      ": no chat template (expected chat_template.jinja or a \"chat_template\" "
                      "field in tokenizer_config.json)");
  const nlohmann::json& ct = config["chat_template"];
  const std::string where = config_path.string() + ": chat_template";
  if (ct.is_string()) return from_text(ct.get<std::string>(), bos, where);
  if (ct.is_array()) {
    for (const auto& entry : ct)
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string())
        return from_text(entry["template"].get<std::string>(), bos, where + "[name=default]");
  }
  KVBENCH_FAIL(ErrorKind::kInput, where,
               ": expected a string or a list of {\"name\", \"template\"} with name \"default\"");
}

const char* ChatTemplate::name() const {
  for (const Known& k : kKnown)
    if (k.kind == kind_) return k.name;
  return "unknown";
}

std::string ChatTemplate::render(const Conversation& messages,
                                 const ChatTemplateOptions& options) const {
  KVBENCH_CHECK_INPUT(!messages.empty(), "chat template ", name(), ": empty conversation");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    KVBENCH_CHECK_INPUT(r == "system" || r == "user" || r == "assistant", "chat template ", name(),
                        ": messages[", i, "].role = \"", r,
                        "\": expected \"system\", \"user\" or \"assistant\"");
  }
  switch (kind_) {
    case ChatTemplateKind::kLlama3:
      return render_llama3(messages, bos_token_, true);
    case ChatTemplateKind::kLlama3Generation:
      return render_llama3(messages, bos_token_, options.add_generation_prompt);
    case ChatTemplateKind::kLlama31:
    case ChatTemplateKind::kLlama32:
      return render_llama31(messages, bos_token_, options);
    case ChatTemplateKind::kQwen25:
      return render_qwen25(messages, options);
    case ChatTemplateKind::kQwen3:
      return render_qwen3(messages, options);
    case ChatTemplateKind::kSmolLM2:
      return render_smollm2(messages, options);
  }
  KVBENCH_ASSERT(false, "unhandled chat template kind");
}

}  // namespace kvbench
