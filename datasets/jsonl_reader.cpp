// SPDX-License-Identifier: Apache-2.0
// JSON Lines / gzip reading for task loaders (zlib's gz* API reads plain files unchanged too).
// Every zlib error, including a stream that ends early, fails naming the file.
#include "datasets/jsonl_reader.h"

#include "harness/error.h"

#include <zlib.h>

namespace kvbench {

std::string read_text_file(const std::filesystem::path& path) {
  KVBENCH_CHECK_INPUT(std::filesystem::is_regular_file(path), "data file not found: ",
                      path.string());
  gzFile file = gzopen(path.string().c_str(), "rb");
  KVBENCH_CHECK_INPUT(file != nullptr, path.string(), ": cannot open");
  std::string out;
  char buffer[1 << 16];
  while (true) {
    int n = gzread(file, buffer, sizeof(buffer));
    if (n < 0) {
      int code = 0;
      std::string message = gzerror(file, &code);
      gzclose(file);
      KVBENCH_FAIL(ErrorKind::kInput, path.string(), ": read error: ", message);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  // gzread ends quietly on a truncated stream (Z_BUF_ERROR); gzerror tells.
  int code = Z_OK;
  std::string message = gzerror(file, &code);
  gzclose(file);
  KVBENCH_CHECK_INPUT(code == Z_OK || code == Z_STREAM_END, path.string(), ": read error: ", message,
                      " (corrupt or truncated gzip file)");
  return out;
}

JsonlReadResult read_jsonl(const std::filesystem::path& path, bool skip_malformed) {
  const std::string text = read_text_file(path);
  JsonlReadResult result;
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::string problem;
    if (value.is_discarded())
      problem = "invalid JSON";
    else if (!value.is_object())
      problem = str_cat("expected a JSON object, got ", value.type_name());
    if (!problem.empty()) {
      std::string where = str_cat(path.string(), ":", line_number, ": ", problem);
      if (skip_malformed) {
        ++result.skipped;
        result.problems.push_back(std::move(where));
        continue;
      }
      KVBENCH_FAIL(ErrorKind::kInput, where);
    }
    result.records.push_back({line_number, std::move(value)});
  }
  return result;
}

std::string require_string(const JsonlRecord& record, const std::filesystem::path& path,
                           const std::string& field) {
  auto it = record.value.find(field);
  KVBENCH_CHECK_INPUT(it != record.value.end(), path.string(), ":", record.line,
                      ": missing field '", field, "'");
  KVBENCH_CHECK_INPUT(it->is_string(), path.string(), ":", record.line, ": field '", field,
                      "' must be a string, got ", it->type_name());
  return it->get<std::string>();
}

JsonlReadResult read_jsonl(const std::filesystem::path& path, const TaskContext& context) {
  JsonlReadResult read = read_jsonl(path, context.on_malformed == MalformedPolicy::kSkip);
  for (const auto& problem : read.problems) context.malformed->add(path.string(), problem);
  return read;
}

void drop_malformed_record(const TaskContext& context, const std::filesystem::path& path, const Error& error) {
  if (context.on_malformed != MalformedPolicy::kSkip || error.kind() != ErrorKind::kInput) throw;
  context.malformed->add(path.string(), error.what());
}

}  // namespace kvbench
