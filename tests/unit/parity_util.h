// SPDX-License-Identifier: Apache-2.0
// Test helpers for the scorer parity tests: reading the shared data (gzip JSON / JSONL), a
// deterministic RNG, text perturbations that stay valid UTF-8, and running a reference script from
// scripts/reference/ with $KVBENCH_PYTHON over JSONL files in $KVBENCH_TEST_TMP.
#pragma once

#include "harness/pytext/unicode_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kvbench::test {

inline std::string env_or_fail(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << "environment variable " << name << " is not set (run through ctest)";
    return "";
  }
  return value;
}

inline std::string data_path(const std::string& relative) {
  return env_or_fail("KVBENCH_DATA_DIR") + "/" + relative;
}

inline std::string read_gz(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    ADD_FAILURE() << "cannot open " << path;
    return "";
  }
  std::string out;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) out.append(buffer, n);
  gzclose(file);
  return out;
}

inline std::vector<nlohmann::json> read_jsonl_text(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// SplitMix64: the same sequence on every platform (std distributions are not portable).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
  bool chance(int percent) { return below(100) < static_cast<size_t>(percent); }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

 private:
  uint64_t state_;
};

// A window of `text` in code points.
inline std::string char_window(const std::string& text, Rng& rng, size_t min_len, size_t max_len) {
  std::u32string t = utf8_to_u32(text);
  if (t.empty()) return "";
  size_t len = min_len + rng.below(max_len - min_len + 1);
  size_t start = rng.below(t.size());
  return u32_to_utf8(t.substr(start, len));
}

inline std::vector<std::string> split_spaces(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

inline std::string word_window(const std::string& text, Rng& rng, size_t min_words,
                               size_t max_words) {
  std::vector<std::string> words = split_spaces(text);
  if (words.empty()) return "";
  size_t len = min_words + rng.below(max_words - min_words + 1);
  size_t start = rng.below(words.size());
  std::string out;
  for (size_t i = start; i < words.size() && i < start + len; ++i) out += (i > start ? " " : "") + words[i];
  return out;
}

// Characters that exercise Unicode case mapping, whitespace, digits and punctuation handling.
inline const std::vector<std::string>& tricky_pieces() {
  static const std::vector<std::string> pieces = {
      "\xC3\x89",          "\xC3\x9F",     "\xC4\xB0",     "\xCE\xA3",      "\xCF\x82",
      "\xEF\xAC\x81",      "\xC2\xA0",     "\xE3\x80\x80", "\xEF\xBC\x91\xEF\xBC\x92",
      "\xD9\xA3",          "\xE2\x80\x99", "\xE2\x80\x94", "\xE2\x80\xA6", "\xF0\x9F\x98\x80",
      "\t",                "\n",           "\r\n",         "  ",            " the ",
      " a ",               " An ",         "THE",          ",",             ".",
      "!",                 "?",            "'s",           "\"",            "(",
      "\xE3\x80\x82",      "\xEF\xBC\x8C", "\xE3\x80\x81", "1,000",         "3.5",
      "$12",               "-7",           "\x1F",         "\x0B",          "\xC2\x85",
      "\xE2\x80\xA8",      "\xCE\xA3\xCE\x91\xCE\xA3",     "\xE4\xB8\xAD\xE6\x96\x87",
      "#",                 "//",           "`",            "[",             "]"};
  return pieces;
}

// Random edits: case flips, inserted tricky pieces, deleted or duplicated characters.
inline std::string mutate(const std::string& text, Rng& rng, int edits) {
  std::u32string t = utf8_to_u32(text);
  for (int e = 0; e < edits; ++e) {
    size_t pos = t.empty() ? 0 : rng.below(t.size() + 1);
    switch (rng.below(5)) {
      case 0:
        if (pos < t.size() && t[pos] < 128) t[pos] = static_cast<char32_t>(
            std::isupper(static_cast<int>(t[pos])) ? std::tolower(static_cast<int>(t[pos]))
                                                   : std::toupper(static_cast<int>(t[pos])));
        break;
      case 1:
      case 2: t.insert(pos, utf8_to_u32(rng.pick(tricky_pieces()))); break;
      case 3:
        if (pos < t.size()) t.erase(pos, 1);
        break;
      default:
        if (pos < t.size()) t.insert(pos, 1, t[pos]);
    }
  }
  return u32_to_utf8(t);
}

inline std::string tmp_dir() {
  std::string dir = env_or_fail("KVBENCH_TEST_TMP");
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_jsonl(const std::string& path, const std::vector<nlohmann::json>& rows) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& row : rows)
    out << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return read_jsonl_text(buffer.str());
}

// Runs `$KVBENCH_PYTHON $KVBENCH_SOURCE_DIR/scripts/reference/<script> args...`; true on exit 0.
inline bool run_reference(const std::string& script, const std::vector<std::string>& args) {
  std::string cmd = "'" + env_or_fail("KVBENCH_PYTHON") + "' '" + env_or_fail("KVBENCH_SOURCE_DIR") +
                    "/scripts/reference/" + script + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  int rc = std::system(cmd.c_str());
  if (rc != 0) ADD_FAILURE() << "reference command failed (" << rc << "): " << cmd;
  return rc == 0;
}

}  // namespace kvbench::test
