// SPDX-License-Identifier: Apache-2.0
#include "harness/run/sample_parts.h"

#include "harness/error.h"
#include "harness/json_text.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace kvbench {

namespace fs = std::filesystem;
using nlohmann::json;

std::string samples_part_name(const ShardSpec& shard) {
  return shard.sharded() ? "samples." + shard.tag() + ".jsonl" : "samples.jsonl";
}

std::string part_lock_name(const ShardSpec& shard) { return shard.sharded() ? ".lock." + shard.tag() : ".lock"; }

std::string part_lock_name_of(const fs::path& part) {
  const std::string name = part.filename().string();
  if (name == "samples.jsonl" || name.size() <= 14) return ".lock";
  return ".lock." + name.substr(8, name.size() - 8 - 6);  // samples.<tag>.jsonl
}

std::string shard_status_name(const ShardSpec& shard) { return "run." + shard.tag() + ".json"; }

std::vector<fs::path> list_sample_parts(const fs::path& dir) {
  std::vector<fs::path> shards;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 20 && name.compare(0, 14, "samples.shard-") == 0 &&
        name.compare(name.size() - 6, 6, ".jsonl") == 0 && it->is_regular_file())
      shards.push_back(it->path());
  }
  std::sort(shards.begin(), shards.end());
  std::vector<fs::path> parts;
  if (fs::is_regular_file(dir / "samples.jsonl")) parts.push_back(dir / "samples.jsonl");
  parts.insert(parts.end(), shards.begin(), shards.end());
  return parts;
}

SamplePart read_sample_part(const fs::path& path) {
  SamplePart part;
  part.path = path;
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return part;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  size_t complete = text.rfind('\n');
  complete = complete == std::string::npos ? 0 : complete + 1;
  part.complete_bytes = complete;
  part.torn_bytes = text.size() - complete;  // one write() per row: only the last can be cut
  std::map<std::string, size_t> line_of;
  size_t line_no = 0, start = 0;
  while (start < complete) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.empty()) continue;
    json row = parse_json_text(line, ErrorKind::kInput, str_cat(path.string(), ":", line_no));
    KVBENCH_CHECK_INPUT(row.is_object() && row.contains("id") && row["id"].is_string(), path.string(), ":",
                        line_no, ": field 'id': missing or not a string");
    const std::string id = row["id"].get<std::string>();
    auto [it, fresh] = line_of.emplace(id, line_no);
    KVBENCH_CHECK_INPUT(fresh, path.string(), ":", line_no, ": field 'id': sample '", id,
                        "' is recorded twice (also line ", it->second, ")");
    part.rows.push_back(std::move(row));
  }
  return part;
}

void add_part_rows(SampleUnion& into, SamplePart part) {
  for (auto& row : part.rows) {
    const std::string id = row["id"].get<std::string>();
    auto [it, fresh] = into.file_of.emplace(id, part.path);
    KVBENCH_CHECK_INPUT(fresh, part.path.string(), ": field 'id': sample '", id, "' is also recorded in ",
                        it->second.string(), " (two shards of different layouts ran it; remove one of the "
                        "two rows, or the whole part, and resume)");
    into.rows.push_back(std::move(row));
  }
}

SampleUnion read_sample_union(const fs::path& dir) {
  SampleUnion all;
  for (const auto& path : list_sample_parts(dir)) add_part_rows(all, read_sample_part(path));
  return all;
}

}  // namespace kvbench
