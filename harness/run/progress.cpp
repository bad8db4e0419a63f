// SPDX-License-Identifier: Apache-2.0
#include "harness/run/progress.h"

#include <unistd.h>

#include <cstdio>

namespace kvbench {

Progress::Progress(std::string label, size_t total, size_t already_done)
    : label_(std::move(label)),
      total_(total),
      done_(already_done),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_log_(start_) {
  if (!tty_) std::fprintf(stderr, "[run] %s: %zu/%zu samples already recorded\n", label_.c_str(), done_, total_);
}

void Progress::finish_sample(bool error, int64_t prompt_tokens) {
  if (prompt_tokens >= 0) prompt_tokens_ = prompt_tokens;
  ++done_;
  ++done_this_session_;
  if (error) ++errors_;
  auto now = std::chrono::steady_clock::now();
  if (tty_) {
    draw(false);
  } else if (now - last_log_ >= std::chrono::seconds(10)) {
    last_log_ = now;
    draw(false);
  }
}

void Progress::finish() { draw(true); }

void Progress::draw(bool final_line) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? static_cast<double>(done_this_session_) / elapsed : 0.0;
  double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
  char tokens[48] = "";
  if (prompt_tokens_ >= 0 && !final_line)
    std::snprintf(tokens, sizeof tokens, " | last prompt %lld tok", static_cast<long long>(prompt_tokens_));
  char errors[32] = "";
  if (errors_) std::snprintf(errors, sizeof errors, " | %zu errors", errors_);
  if (tty_) {
    const int width = 24;
    int filled = total_ ? static_cast<int>(width * done_ / total_) : width;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %zu/%zu | %.2f samples/s | ETA %.0fs%s%s", label_.c_str(),
                 bar.c_str(), done_, total_, rate, eta, tokens, errors);
    if (final_line) std::fprintf(stderr, "\n");
  } else {
    std::fprintf(stderr, "[run] %s: %zu/%zu samples, %.2f samples/s, ETA %.0fs%s%s\n", label_.c_str(),
                 done_, total_, rate, eta, tokens, errors);
  }
  std::fflush(stderr);
}

}  // namespace kvbench
