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
  kBusy,    // another kvbench process holds the run directory's lock: it is left untouched
  kInternal // broken invariant: a kvbench bug
};

// `message` with every control character but tab written as an escape (\n, \r, \xNN), so an error
// that quotes input (a YAML escape, a template's first characters, a key) stays one line.
inline std::string one_line(const std::string& message) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(message.size());
  for (unsigned char c : message) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += '\t';  // keeps the line whole; quoted TSV fields stay as written
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

class Error : public std::runtime_error {
 public:
  // The message is made one line (one_line): the CLI prints it as the whole error.
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(one_line(message)), kind_(kind) {}
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
