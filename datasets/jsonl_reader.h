// SPDX-License-Identifier: Apache-2.0
// JSON Lines input for task loaders: plain or gzip files, one object per line, every failure a
// kvbench::Error(kInput) naming file:line and (for field access) the field. load_jsonl() applies the
// run's malformed-input policy (TaskContext::on_malformed) to whole records.
#pragma once

#include "harness/task/task.h"
#include "harness/error.h"

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
  int skipped = 0;                     // malformed lines skipped (only with skip_malformed)
  std::vector<std::string> problems;   // "file:line: reason" of each skipped line
};

// Reads every non-empty line; ".gz" files are decompressed. A missing file is a kInput error that
// names the expected path.
JsonlReadResult read_jsonl(const std::filesystem::path& path, bool skip_malformed = false);

// Whole file contents (".gz" decompressed); kInput error naming the path when unreadable.
std::string read_text_file(const std::filesystem::path& path);

// The string field `field` of a record, or a kInput error "file:line: field 'x' ...".
std::string require_string(const JsonlRecord& record, const std::filesystem::path& path,
                           const std::string& field);

// read_jsonl under the run's malformed-input policy: with TaskContext::on_malformed == kSkip the
// unparsable lines are skipped and each is added to *context.malformed; with kError the first fails.
JsonlReadResult read_jsonl(const std::filesystem::path& path, const TaskContext& context);

// Call only from a catch handler for `error`, raised while turning one record of `path` into a
// sample: under kSkip a kInput error is added to *context.malformed and the record is dropped
// (the function returns); under kError, or for any other error kind, the error is rethrown.
void drop_malformed_record(const TaskContext& context, const std::filesystem::path& path, const Error& error);

// The records of `path` converted by `convert(const JsonlRecord&) -> T` (which reads fields with
// require_*() and so fails with kInput errors naming file:line and field), under the context's
// policy: kError fails on the first unparsable line or failing conversion; kSkip drops them and
// adds each to *context.malformed. Gzip corruption, a missing file and a file without any usable
// record are errors under both policies.
template <class T, class Convert>
std::vector<T> load_jsonl(const std::filesystem::path& path, const TaskContext& context, Convert&& convert) {
  JsonlReadResult read = read_jsonl(path, context);
  std::vector<T> out;
  out.reserve(read.records.size());
  for (const auto& record : read.records) {
    try {
      out.push_back(convert(record));
    } catch (const Error& e) {
      drop_malformed_record(context, path, e);
    }
  }
  KVBENCH_CHECK_INPUT(!out.empty(), path.string(), ": no records",
                      read.records.size() + read.skipped == 0
                          ? ""
                          : str_cat(" (all ", read.records.size() + read.skipped,
                                    " were malformed and skipped: task.on_malformed is skip)"));
  return out;
}

}  // namespace kvbench
