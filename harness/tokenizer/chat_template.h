// SPDX-License-Identifier: Apache-2.0
// Chat templates: renders a kvbench::Conversation into the prompt string a model was trained on,
// identical to transformers' apply_chat_template(tokenize=False).
//
// Design choice: native renderers selected by recognizing the template text, not a Jinja engine.
// The supported models ship a handful of fixed templates; a C++ renderer per template family is
// short, exact (Python string semantics such as str.strip() and split() are spelled out), has no
// dependency, and fails loudly: a template whose normalized text (CRLF -> LF, outer whitespace
// trimmed) hashes to an unknown value is rejected with an error naming it and its hash, instead of
// being rendered approximately. Adding a model = adding its template hash and, if the family is
// new, a renderer.
//
// Determinism: Llama 3.1/3.2 print "Today Date: ..."; transformers fills it from date_string when
// the caller passes it, else (3.2 only) from the current date via strftime_now. kvbench always uses
// ChatTemplateOptions::date_string (default "26 Jul 2024", the templates' own fallback), so a
// prompt never depends on the day it was rendered; pass date_string=... to transformers to match.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "harness/chat_message.h"

namespace kvbench {

enum class ChatTemplateKind {
  kLlama3,            // Meta-Llama-3-Instruct (lenml copy): always ends with the assistant header
  kLlama3Generation,  // same, assistant header only with add_generation_prompt (lenml llama3_1)
  kLlama31,           // Llama-3.1-Instruct (system block with knowledge cutoff and date)
  kLlama32,           // Llama-3.2-Instruct (same output as 3.1 without tools)
  kQwen25,            // Qwen2.5-Instruct (ChatML, default Qwen system prompt)
  kQwen3,             // Qwen3 (ChatML, <think> handling, enable_thinking)
  kSmolLM2,           // SmolLM2-Instruct (ChatML, default SmolLM system prompt)
};

struct ChatTemplateOptions {
  bool add_generation_prompt = true;
  // Qwen 3: nullopt = variable not passed (thinking on); false appends an empty <think> block.
  std::optional<bool> enable_thinking;
  std::string date_string = "26 Jul 2024";  // Llama 3.1/3.2 "Today Date"
};

class ChatTemplate {
 public:
  // Recognizes `text`; `bos_token` is the template variable of that name (Llama 3 templates print
  // it). `source` names where the text came from, for errors. Throws kvbench::Error (kInput) for
  // an unrecognized template.
  static ChatTemplate from_text(const std::string& text, const std::string& bos_token,
                                const std::string& source);
  // From a model folder: chat_template.jinja if present, else tokenizer_config.json's
  // "chat_template" (a string, or a list of {name, template} where "default" is used); bos_token
  // from tokenizer_config.json.
  static ChatTemplate load(const std::string& model_dir);
  // From a .jinja file, with an explicit bos token.
  static ChatTemplate load_file(const std::string& path, const std::string& bos_token);

  // Throws kvbench::Error (kInput) for an empty conversation or a role other than
  // system/user/assistant.
  std::string render(const Conversation& messages, const ChatTemplateOptions& options = {}) const;

  ChatTemplateKind kind() const { return kind_; }
  const char* name() const;
  uint64_t hash() const { return hash_; }  // FNV-1a 64 of the normalized template text

  // Hash used for recognition (exposed for tests and for recording in run configs).
  static uint64_t template_hash(const std::string& text);

 private:
  ChatTemplate(ChatTemplateKind kind, uint64_t hash, std::string bos)
      : kind_(kind), hash_(hash), bos_token_(std::move(bos)) {}
  ChatTemplateKind kind_;
  uint64_t hash_;
  std::string bos_token_;
};

}  // namespace kvbench
