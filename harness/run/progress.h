// SPDX-License-Identifier: Apache-2.0
// Progress of one run on stderr: a redrawn bar on a TTY (done/total, samples/s, ETA, prompt length
// of the latest sample); plain log lines at most every 10 s (and at the end) otherwise, e.g. in CI.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace kvbench {

class Progress {
 public:
  Progress(std::string label, size_t total, size_t already_done);
  // A sample finished: its prompt length in tokens (-1 if unknown, e.g. it failed early).
  void finish_sample(bool error, int64_t prompt_tokens);
  void finish();

 private:
  void draw(bool final_line);

  std::string label_;
  size_t total_;
  size_t done_;
  size_t done_this_session_ = 0;
  size_t errors_ = 0;
  int64_t prompt_tokens_ = -1;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_log_;
};

}  // namespace kvbench
