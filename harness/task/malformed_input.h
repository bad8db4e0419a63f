// SPDX-License-Identifier: Apache-2.0
// The run's policy for malformed input records (config task.on_malformed) and the log of records a
// `skip` run dropped. Malformed means: a line that is not JSON, a line that is not a JSON object, a
// missing field or a field of the wrong type. A missing, unreadable or corrupt file, or a file
// with no usable record, is always an error whatever the policy.
#pragma once

#include "harness/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kvbench {

enum class MalformedPolicy {
  kError,  // the first malformed record fails the task: "file:line: missing field 'x'" (default)
  kSkip,   // malformed records are dropped and counted in the MalformedLog
};

// "error" | "skip" (the values run_config.cpp accepts for task.on_malformed).
inline MalformedPolicy malformed_policy_from_string(const std::string& value) {
  if (value == "error") return MalformedPolicy::kError;
  if (value == "skip") return MalformedPolicy::kSkip;
  KVBENCH_FAIL(ErrorKind::kConfig, "task.on_malformed: '", value, "' is not one of error, skip");
}

// Records dropped under MalformedPolicy::kSkip. Every record counts; the first kMaxExamples reasons
// are kept verbatim ("file:line: reason") for run.json and the console.
class MalformedLog {
 public:
  static constexpr size_t kMaxExamples = 10;

  void add(const std::string& file, const std::string& reason) {
    ++skipped_;
    ++by_file_[file];
    if (examples_.size() < kMaxExamples) examples_.push_back(reason);
  }
  int64_t skipped() const { return skipped_; }
  void clear() { *this = MalformedLog(); }
  // {"skipped": N, "by_file": {path: N}, "examples": ["file:line: reason", ...]}
  nlohmann::json to_json() const {
    return {{"skipped", skipped_}, {"by_file", by_file_}, {"examples", examples_}};
  }

 private:
  int64_t skipped_ = 0;
  std::map<std::string, int64_t> by_file_;
  std::vector<std::string> examples_;
};

}  // namespace kvbench
