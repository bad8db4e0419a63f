// SPDX-License-Identifier: Apache-2.0
// One turn of a chat conversation, as tasks produce it and chat templates render it.
#pragma once

#include <string>
#include <vector>

namespace kvbench {

struct ChatMessage {
  std::string role;     // "system" | "user" | "assistant"
  std::string content;
};

using Conversation = std::vector<ChatMessage>;

}  // namespace kvbench
