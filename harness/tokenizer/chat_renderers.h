// SPDX-License-Identifier: Apache-2.0
// Native renderers of the recognized chat templates (internal to harness/tokenizer). Each one
// reproduces its Jinja template's output for conversations of system/user/assistant messages
// (roles are validated by ChatTemplate::render before these are called).
#pragma once

#include <string>

#include "harness/chat_message.h"
#include "harness/tokenizer/chat_template.h"

namespace kvbench {

// Llama 3 Instruct: BOS + header/trimmed content/eot per message; assistant header if `generation`.
std::string render_llama3(const Conversation& m, const std::string& bos, bool generation);
// Llama 3.1 / 3.2 Instruct without tools.
std::string render_llama31(const Conversation& m, const std::string& bos, const ChatTemplateOptions& o);
std::string render_qwen25(const Conversation& m, const ChatTemplateOptions& o);
std::string render_qwen3(const Conversation& m, const ChatTemplateOptions& o);
std::string render_smollm2(const Conversation& m, const ChatTemplateOptions& o);

}  // namespace kvbench
