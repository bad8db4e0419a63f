// SPDX-License-Identifier: Apache-2.0
// Path resolution for task data and shipped prompt files.
#include "datasets/task_files.h"

#include <cstdlib>

namespace kvbench {

std::filesystem::path resolve_data_path(const std::filesystem::path& data_root,
                                        const std::string& relative) {
  std::filesystem::path path(relative);
  return path.is_absolute() ? path : data_root / path;
}

std::filesystem::path prompt_file(const std::string& name) {
  const char* override_dir = std::getenv("KVBENCH_PROMPTS_DIR");
  std::filesystem::path dir = (override_dir != nullptr && *override_dir != '\0')
                                  ? std::filesystem::path(override_dir)
                                  : std::filesystem::path(KVBENCH_SOURCE_DIR) / "datasets" / "prompts";
  return dir / name;
}

}  // namespace kvbench
