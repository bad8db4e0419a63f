// SPDX-License-Identifier: Apache-2.0
// kvbench::Error: the one exception type the library throws. Its kind decides the CLI's exit code
// (usage/config/input errors exit 2, run failures exit 1); its message is complete on its own
// (it names the file, line/offset and field where there is one) so the CLI prints just that line.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace kvbench {

enum class ErrorKind {
  kUsage,   // bad command line
  kConfig,  // config file or --set value invalid
  kInput,   // malformed data file, checkpoint or tokenizer
  kRun,     // failure while running (inside the engine, out of memory, I/O)
  kOutput,  // the run directory cannot be written (disk full, read-only, permissions): what is
            // recorded stays intact, and every later run of a sweep would fail the same way
  kInternal // broken invariant: a kvbench bug
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  // Exit code the CLI returns for this error.
  int exit_code() const {
    return (kind_ == ErrorKind::kUsage || kind_ == ErrorKind::kConfig || kind_ == ErrorKind::kInput)
               ? 2
               : 1;
  }

 private:
  ErrorKind kind_;
};

template <class... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

}  // namespace kvbench

// User-facing checks: the message is the whole story (name file, key path, what is allowed).
#define KVBENCH_CHECK_KIND(kind, cond, ...)                                         \
  do {                                                                              \
    if (!(cond)) throw ::kvbench::Error((kind), ::kvbench::str_cat(__VA_ARGS__));   \
  } while (0)
#define KVBENCH_CHECK(cond, ...) KVBENCH_CHECK_KIND(::kvbench::ErrorKind::kRun, cond, __VA_ARGS__)
#define KVBENCH_CHECK_INPUT(cond, ...) \
  KVBENCH_CHECK_KIND(::kvbench::ErrorKind::kInput, cond, __VA_ARGS__)
#define KVBENCH_CHECK_CONFIG(cond, ...) \
  KVBENCH_CHECK_KIND(::kvbench::ErrorKind::kConfig, cond, __VA_ARGS__)
#define KVBENCH_FAIL(kind, ...) throw ::kvbench::Error((kind), ::kvbench::str_cat(__VA_ARGS__))
// Invariants: a failure is a kvbench bug, so the message carries the source location.
#define KVBENCH_ASSERT(cond, ...)                                                          \
  do {                                                                                     \
    if (!(cond))                                                                           \
      throw ::kvbench::Error(::kvbench::ErrorKind::kInternal,                              \
                             ::kvbench::str_cat("internal error at ", __FILE__, ":",       \
                                                __LINE__, ": ", #cond, ": ", __VA_ARGS__)); \
  } while (0)
