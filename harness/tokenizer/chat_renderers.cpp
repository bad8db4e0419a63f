// SPDX-License-Identifier: Apache-2.0
// Native chat template renderers (see chat_renderers.h). Each function mirrors the control flow of
// its Jinja source for tool-free conversations; Python string methods used by the templates
// (str.strip(), strip('\n'), split()) are reproduced exactly.
#include "harness/tokenizer/chat_renderers.h"

#include <string_view>

#include "harness/tokenizer/utf8.h"

namespace kvbench {

namespace {

// Jinja's |trim: Python str.strip() (Unicode whitespace).
std::string trim(const std::string& s) { return std::string(utf8::python_strip(s)); }

std::string_view lstrip_newlines(std::string_view s) {
  while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
  return s;
}
std::string_view rstrip_newlines(std::string_view s) {
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

// Python s.split(sep)[0] and s.split(sep)[-1].
std::string_view before_first(std::string_view s, std::string_view sep) {
  const size_t p = s.find(sep);
  return p == std::string_view::npos ? s : s.substr(0, p);
}
std::string_view after_last(std::string_view s, std::string_view sep) {
  const size_t p = s.rfind(sep);
  return p == std::string_view::npos ? s : s.substr(p + sep.size());
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

void chatml_turn(std::string& out, const ChatMessage& m) {
  out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
}

}  // namespace

std::string render_llama3(const Conversation& m, const std::string& bos, bool generation) {
  std::string out;
  for (size_t i = 0; i < m.size(); ++i) {
    if (i == 0) out += bos;
    out += "<|start_header_id|>" + m[i].role + "<|end_header_id|>\n\n" + trim(m[i].content) +
           "<|eot_id|>";
  }
  if (generation) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_llama31(const Conversation& m, const std::string& bos,
                           const ChatTemplateOptions& o) {
  std::string out = bos;
  size_t first = 0;
  std::string system;
  if (m[0].role == "system") {
    system = trim(m[0].content);
    first = 1;
  }
  out += "<|start_header_id|>system<|end_header_id|>\n\n";
  out += "Cutting Knowledge Date: December 2023\n";
  out += "Today Date: " + o.date_string + "\n\n";
  out += system + "<|eot_id|>";
  for (size_t i = first; i < m.size(); ++i)
    out += "<|start_header_id|>" + m[i].role + "<|end_header_id|>\n\n" + trim(m[i].content) +
           "<|eot_id|>";
  if (o.add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_qwen25(const Conversation& m, const ChatTemplateOptions& o) {
  std::string out;
  if (m[0].role == "system") {
    out += "<|im_start|>system\n" + m[0].content + "<|im_end|>\n";
  } else {
    out += "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
           "assistant.<|im_end|>\n";
  }
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i].role == "system" && i == 0) continue;  // already printed above
    chatml_turn(out, m[i]);
  }
  if (o.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string render_qwen3(const Conversation& m, const ChatTemplateOptions& o) {
  std::string out;
  if (m[0].role == "system") out += "<|im_start|>system\n" + m[0].content + "<|im_end|>\n";
  // Index of the last real user query (tool responses wrapped as user messages do not count).
  size_t last_query = m.size() - 1;
  for (size_t k = m.size(); k-- > 0;) {
    const std::string& c = m[k].content;
    if (m[k].role == "user" && !(starts_with(c, "<tool_response>") && ends_with(c, "</tool_response>"))) {
      last_query = k;
      break;
    }
  }
  for (size_t i = 0; i < m.size(); ++i) {
    const ChatMessage& msg = m[i];
    if (msg.role == "user" || (msg.role == "system" && i != 0)) {
      chatml_turn(out, msg);
      continue;
    }
    if (msg.role != "assistant") continue;
    std::string_view content = msg.content;
    std::string_view reasoning;
    if (content.find("</think>") != std::string_view::npos) {
      const std::string_view full = msg.content;
      content = lstrip_newlines(after_last(full, "</think>"));
      reasoning = lstrip_newlines(after_last(rstrip_newlines(before_first(full, "</think>")), "<think>"));
    }
    out += "<|im_start|>assistant\n";
    if (i > last_query && (i + 1 == m.size() || !reasoning.empty())) {
      out += "<think>\n";
      out += lstrip_newlines(rstrip_newlines(reasoning));
      out += "\n</think>\n\n";
      out += lstrip_newlines(content);
    } else {
      out += content;
    }
    out += "<|im_end|>\n";
  }
  if (o.add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    if (o.enable_thinking.has_value() && !*o.enable_thinking) out += "<think>\n\n</think>\n\n";
  }
  return out;
}

std::string render_smollm2(const Conversation& m, const ChatTemplateOptions& o) {
  std::string out;
  if (m[0].role != "system")
    out += "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
           "Face<|im_end|>\n";
  for (const ChatMessage& msg : m) chatml_turn(out, msg);
  if (o.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace kvbench
