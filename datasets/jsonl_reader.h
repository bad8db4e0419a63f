// SPDX-License-Identifier: Apache-2.0
// JSON Lines input for task loaders: plain or gzip files, one object per line, every failure a
// kvbench::Error(kInput) naming file:line and (for field access) the field. With skip_malformed,
// unparsable lines are skipped and counted instead of failing.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace kvbench {

struct JsonlRecord {
  int line = 0;              // 1-based line number in the (decompressed) file
  nlohmann::json value;      // a JSON object
};

struct JsonlReadResult {
  std::vector<JsonlRecord> records;
  int skipped = 0;           // malformed lines skipped (only with skip_malformed)
};

// Reads every non-empty line; ".gz" files are decompressed. A missing file is a kInput error that
// names the expected path.
JsonlReadResult read_jsonl(const std::filesystem::path& path, bool skip_malformed = false);

// Whole file contents (".gz" decompressed); kInput error naming the path when unreadable.
std::string read_text_file(const std::filesystem::path& path);

// The string field `field` of a record, or a kInput error "file:line: field 'x' ...".
std::string require_string(const JsonlRecord& record, const std::filesystem::path& path,
                           const std::string& field);

}  // namespace kvbench
