// SPDX-License-Identifier: Apache-2.0
// LongBench v1 / LongBench-E data files (the official data.zip jsonl, one record per line:
// input, context, answers[], length, dataset, language, all_classes, _id): where they live under
// the data root, and their validated records. Every malformed record fails with file:line and the
// field name (or, under task.on_malformed: skip, is skipped and counted in the run's malformed log).
#pragma once

#include "harness/task/task.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace kvbench {

struct LongBenchRecord {
  int line = 0;                          // 1-based line in the (decompressed) file
  nlohmann::json fields;                 // the whole record (prompt fields are formatted from it)
  std::string id;                        // _id
  std::vector<std::string> answers;
  nlohmann::json all_classes;            // null or a list of strings
  double length = 0;                     // words (English) or characters (Chinese)
  std::string language;                  // "" when the record has none
  std::string dataset;                   // the record's own `dataset` field ("" when none)
};

struct LongBenchFile {
  std::filesystem::path path;
  std::vector<LongBenchRecord> records;
};

// <data_root>/longbench/data/<dataset>[_e].jsonl, else the same with .jsonl.gz. When neither
// exists: a kInput error naming both paths and how to get the files (`kvbench data fetch`).
std::filesystem::path longbench_default_file(const std::filesystem::path& data_root,
                                             const std::string& dataset, bool longbench_e);

// Reads and validates every record: input, context, _id strings; answers a list of strings;
// length a number; all_classes null or a list of strings; language / dataset strings when
// present; _id unique in the file.
LongBenchFile load_longbench_file(const std::filesystem::path& path, const TaskContext& context);

}  // namespace kvbench
