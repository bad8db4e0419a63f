// SPDX-License-Identifier: Apache-2.0
// Python str.format / text-mode reading / strip helpers for task recipes (see python_text.h).
#include "harness/pytext/python_text.h"

#include "harness/error.h"

namespace kvbench {

std::string python_format(const std::string& templ, const std::map<std::string, std::string>& fields,
                          const std::string& source) {
  std::string out;
  out.reserve(templ.size());
  for (size_t i = 0; i < templ.size(); ++i) {
    const char c = templ[i];
    if (c == '}') {
      KVBENCH_CHECK_INPUT(i + 1 < templ.size() && templ[i + 1] == '}', source,
                          ": single '}' in format string at offset ", i);
      out += '}';
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < templ.size() && templ[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = templ.find('}', i + 1);
    KVBENCH_CHECK_INPUT(close != std::string::npos, source, ": single '{' in format string at offset ", i);
    const std::string name = templ.substr(i + 1, close - i - 1);
    KVBENCH_CHECK_INPUT(name.find_first_of(":!{[.") == std::string::npos && !name.empty(), source,
                        ": unsupported replacement field '{", name, "}' at offset ", i);
    auto it = fields.find(name);
    KVBENCH_CHECK_INPUT(it != fields.end(), source, ": format field '", name, "' has no value");
    out += it->second;
    i = close;
  }
  return out;
}

std::string universal_newlines(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string> python_readlines(const std::string& text) {
  const std::string normalized = universal_newlines(text);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < normalized.size()) {
    size_t end = normalized.find('\n', start);
    if (end == std::string::npos) end = normalized.size() - 1;
    lines.push_back(normalized.substr(start, end - start + 1));
    start = end + 1;
  }
  return lines;
}

namespace {
bool is_py_space(unsigned char c) { return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f); }
}  // namespace

std::string python_rstrip(const std::string& s) {
  size_t end = s.size();
  while (end > 0 && is_py_space(static_cast<unsigned char>(s[end - 1]))) --end;
  return s.substr(0, end);
}

std::string python_strip(const std::string& s) {
  size_t begin = 0;
  while (begin < s.size() && is_py_space(static_cast<unsigned char>(s[begin]))) ++begin;
  return python_rstrip(s.substr(begin));
}

}  // namespace kvbench
