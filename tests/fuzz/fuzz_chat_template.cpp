// SPDX-License-Identifier: Apache-2.0
// Fuzz target: chat-template rendering inputs. The input picks one of the recognized templates
// (the shipped Llama 3 / 3.1 / 3.2, Qwen 2.5 / 3 and SmolLM2 files) and builds a conversation
// (roles, contents with any bytes), the options (add_generation_prompt, enable_thinking, date) and
// a bos token; render() must return or fail with a one-line kInput error. The raw input is also
// offered to ChatTemplate::from_text, which must recognize nothing new without an error.
#include "harness/tokenizer/chat_template.h"
#include "tests/fuzz/fuzz_support.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <vector>

namespace {

std::vector<std::filesystem::path> template_files() {
  const std::filesystem::path dir = kvbench::fuzz::data_dir() / "tokenizers" / "chat_templates";
  std::vector<std::filesystem::path> files = {
      dir / "Qwen-Qwen2.5-7B-Instruct.jinja", dir / "Qwen-Qwen3-0.6B.jinja",
      dir / "meta-llama-Llama-3.1-8B-Instruct.jinja", dir / "meta-llama-Llama-3.2-3B-Instruct.jinja",
      dir / "meta-llama-Meta-Llama-3-8B-Instruct.from-lenml.jinja",
      std::filesystem::path(KVBENCH_SOURCE_DIR) / "scripts" / "smollm2_chat_template.jinja"};
  return files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvbench;
  static const std::vector<std::filesystem::path> files = template_files();
  FuzzedDataProvider in(data, size);
  const std::string bos = in.ConsumeBool() ? "<|begin_of_text|>" : in.ConsumeRandomLengthString(16);
  const auto& file = files[in.ConsumeIntegralInRange<size_t>(0, files.size() - 1)];
  ChatTemplate chat = ChatTemplate::load_file(file.string(), bos);  // shipped files: must load
  ChatTemplateOptions options;
  options.add_generation_prompt = in.ConsumeBool();
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: options.enable_thinking = std::nullopt; break;
    case 1: options.enable_thinking = true; break;
    default: options.enable_thinking = false; break;
  }
  if (in.ConsumeBool()) options.date_string = in.ConsumeRandomLengthString(32);
  static const char* kRoles[] = {"system", "user", "assistant"};
  Conversation messages;
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < n && in.remaining_bytes() > 0; ++i) {
    ChatMessage m;
    const int role = in.ConsumeIntegralInRange<int>(0, 3);
    m.role = role < 3 ? kRoles[role] : in.ConsumeRandomLengthString(12);
    m.content = in.ConsumeRandomLengthString(256);
    messages.push_back(std::move(m));
  }
  try {
    const std::string prompt = chat.render(messages, options);
    if (prompt.empty()) fuzz::fail("a rendered conversation is empty");
  } catch (const Error& e) {
    fuzz::expect_clean_error(e, {ErrorKind::kInput});
  }
  // The bytes themselves as a template text: unrecognized text must be a clean kInput error.
  try {
    (void)ChatTemplate::from_text(std::string(reinterpret_cast<const char*>(data), size), bos, "fuzz.jinja");
  } catch (const Error& e) {
    fuzz::expect_clean_error(e, {ErrorKind::kInput});
  }
  return 0;
}
