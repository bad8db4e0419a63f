// SPDX-License-Identifier: Apache-2.0
// Where task loaders find their files: data paths relative to TaskContext::data_root, and the
// prompt data shipped with kvbench under datasets/prompts/ (KVBENCH_PROMPTS_DIR overrides), and
// the essay folders used as haystack / filler text.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kvbench {

// `relative` under `data_root` unless it is absolute.
std::filesystem::path resolve_data_path(const std::filesystem::path& data_root,
                                        const std::string& relative);

// The .txt files of `dir` except LICENSE*, sorted by name (byte order); kInput error naming the
// folder when it is missing or holds none.
std::vector<std::filesystem::path> essay_files(const std::filesystem::path& dir);

// datasets/prompts/<name> of this source tree (or $KVBENCH_PROMPTS_DIR/<name>).
std::filesystem::path prompt_file(const std::string& name);

}  // namespace kvbench
