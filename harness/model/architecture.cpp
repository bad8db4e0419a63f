// SPDX-License-Identifier: Apache-2.0
// Architecture lookup by config.json "architectures".
#include "harness/model/architecture.h"

#include "harness/error.h"

namespace kvbench {

// Defined in each architecture file (KVBENCH_ARCHITECTURE_ANCHOR).
void link_architecture_llama();
void link_architecture_qwen2();
void link_architecture_qwen3();
void link_architecture_qwen3_moe();

const ArchitectureRegistry& architectures() {
  link_architecture_llama();
  link_architecture_qwen2();
  link_architecture_qwen3();
  link_architecture_qwen3_moe();
  return ArchitectureRegistry::instance();
}

const RegistryEntry<Architecture>& find_architecture(const ModelConfig& config) {
  const auto* entry = architectures().find(config.architecture);
  if (entry == nullptr) {
    std::string supported;
    for (const auto& name : architectures().names())
      supported += (supported.empty() ? "" : ", ") + name;
    KVBENCH_FAIL(ErrorKind::kInput, config.path, ": unsupported architecture '", config.architecture,
                 "' (supported: ", supported, ")");
  }
  return *entry;
}

}  // namespace kvbench
