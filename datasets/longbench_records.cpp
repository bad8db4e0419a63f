// SPDX-License-Identifier: Apache-2.0
// LongBench data files and record validation (see longbench_records.h).
#include "datasets/longbench_records.h"

#include "datasets/jsonl_reader.h"
#include "harness/error.h"

#include <map>

namespace kvbench {
namespace {

// "file:line: field 'x' ..." for a record that does not have the expected shape.
[[noreturn]] void bad_field(const std::filesystem::path& path, int line, const std::string& field,
                            const std::string& problem) {
  KVBENCH_FAIL(ErrorKind::kInput, path.string(), ":", line, ": field '", field, "' ", problem);
}

const nlohmann::json& require(const JsonlRecord& record, const std::filesystem::path& path,
                              const std::string& field) {
  auto it = record.value.find(field);
  if (it == record.value.end())
    KVBENCH_FAIL(ErrorKind::kInput, path.string(), ":", record.line, ": missing field '", field, "'");
  return *it;
}

std::vector<std::string> string_list(const nlohmann::json& value, const std::filesystem::path& path,
                                     int line, const std::string& field) {
  if (!value.is_array())
    bad_field(path, line, field, std::string("must be a list of strings, got ") + value.type_name());
  std::vector<std::string> out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string())
      bad_field(path, line, field, "element " + std::to_string(i) + " must be a string, got " +
                                       value[i].type_name());
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

std::string optional_string(const JsonlRecord& record, const std::filesystem::path& path,
                            const std::string& field) {
  auto it = record.value.find(field);
  if (it == record.value.end() || it->is_null()) return "";
  if (!it->is_string())
    bad_field(path, record.line, field, std::string("must be a string, got ") + it->type_name());
  return it->get<std::string>();
}

LongBenchRecord parse_record(const JsonlRecord& record, const std::filesystem::path& path) {
  LongBenchRecord out;
  out.line = record.line;
  for (const char* field : {"input", "context"}) {
    const auto& value = require(record, path, field);
    if (!value.is_string())
      bad_field(path, record.line, field, std::string("must be a string, got ") + value.type_name());
  }
  out.id = require_string(record, path, "_id");
  out.answers = string_list(require(record, path, "answers"), path, record.line, "answers");
  const auto& length = require(record, path, "length");
  if (!length.is_number())
    bad_field(path, record.line, "length", std::string("must be a number, got ") + length.type_name());
  out.length = length.get<double>();
  out.all_classes = require(record, path, "all_classes");
  if (!out.all_classes.is_null())
    string_list(out.all_classes, path, record.line, "all_classes");
  out.language = optional_string(record, path, "language");
  out.dataset = optional_string(record, path, "dataset");
  out.fields = record.value;
  return out;
}

}  // namespace

std::filesystem::path longbench_default_file(const std::filesystem::path& data_root,
                                             const std::string& dataset, bool longbench_e) {
  const std::string stem = dataset + (longbench_e ? "_e" : "");
  const std::filesystem::path dir = data_root / "longbench" / "data";
  const std::filesystem::path plain = dir / (stem + ".jsonl");
  const std::filesystem::path gz = dir / (stem + ".jsonl.gz");
  if (std::filesystem::is_regular_file(plain)) return plain;
  if (std::filesystem::is_regular_file(gz)) return gz;
  KVBENCH_FAIL(ErrorKind::kInput, "LongBench", longbench_e ? "-E" : "", " data file for '", dataset,
               "' not found: expected ", plain.string(), " (or ", gz.string(),
               "). Get the official files with `kvbench data fetch longbench` (checksums in "
               "longbench/OFFICIAL_CHECKSUMS.tsv), or set task.params.data_file");
}

LongBenchFile load_longbench_file(const std::filesystem::path& path, const TaskContext& context) {
  LongBenchFile out;
  out.path = path;
  JsonlReadResult read = read_jsonl(path, context);
  std::map<std::string, int> first_line;
  for (const auto& record : read.records) {
    LongBenchRecord parsed;
    try {
      parsed = parse_record(record, path);
    } catch (const Error& e) {
      drop_malformed_record(context, path, e);
      continue;
    }
    auto [it, inserted] = first_line.emplace(parsed.id, parsed.line);
    KVBENCH_CHECK_INPUT(inserted, path.string(), ":", parsed.line, ": field '_id' repeats '",
                        parsed.id, "' of line ", it->second, " (sample ids must be unique)");
    out.records.push_back(std::move(parsed));
  }
  KVBENCH_CHECK_INPUT(!out.records.empty(), path.string(), ": no records");
  return out;
}

}  // namespace kvbench
