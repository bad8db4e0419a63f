// SPDX-License-Identifier: Apache-2.0
// Path resolution for task data and shipped prompt files.
#include "datasets/task_files.h"

#include "harness/source_dir.h"

#include "harness/error.h"

#include <algorithm>
#include <cstdlib>

namespace kvbench {

std::filesystem::path resolve_data_path(const std::filesystem::path& data_root,
                                        const std::string& relative) {
  std::filesystem::path path(relative);
  return path.is_absolute() ? path : data_root / path;
}

std::vector<std::filesystem::path> essay_files(const std::filesystem::path& dir) {
  KVBENCH_CHECK_INPUT(std::filesystem::is_directory(dir), "essay folder not found: ", dir.string());
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".txt" && name.rfind("LICENSE", 0) != 0)
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  KVBENCH_CHECK_INPUT(!files.empty(), dir.string(), ": no .txt essays");
  return files;
}

std::filesystem::path prompt_file(const std::string& name) {
  const char* override_dir = std::getenv("KVBENCH_PROMPTS_DIR");
  std::filesystem::path dir = (override_dir != nullptr && *override_dir != '\0')
                                  ? std::filesystem::path(override_dir)
                                  : std::filesystem::path(source_dir()) / "datasets" / "prompts";
  return dir / name;
}

}  // namespace kvbench
