// SPDX-License-Identifier: Apache-2.0
#include "harness/data/data_sources.h"

#include "harness/error.h"
#include "harness/params.h"
#include "harness/run/run_config.h"
#include "harness/source_dir.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace kvbench {
namespace {

using nlohmann::json;

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, '\t')) out.push_back(cell);
  if (!line.empty() && line.back() == '\t') out.emplace_back();
  return out;
}

std::string json_string(const json& object, const std::string& key, const std::string& where) {
  KVBENCH_CHECK_INPUT(object.is_object() && object.contains(key) && object[key].is_string(), where,
                      ": field '", key, "' must be a string");
  return object[key].get<std::string>();
}

std::string stem_of(const std::string& file) {
  size_t dot = file.find('.');
  return dot == std::string::npos ? file : file.substr(0, dot);
}

}  // namespace

std::vector<ChecksumEntry> read_checksum_table(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  KVBENCH_CHECK_INPUT(in.good(), "checksum table not found: ", path.string(),
                      " (use --checksums FILE or --data-root DIR)");
  std::vector<ChecksumEntry> out;
  std::string line;
  int line_number = 0;
  int col_file = -1, col_size = -1, col_sha = -1;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells = split_tabs(line);
    if (col_file < 0) {  // the header
      for (int i = 0; i < static_cast<int>(cells.size()); ++i) {
        if (cells[i] == "file") col_file = i;
        if (cells[i] == "size_bytes") col_size = i;
        if (cells[i] == "sha256") col_sha = i;
      }
      KVBENCH_CHECK_INPUT(col_file >= 0 && col_size >= 0 && col_sha >= 0, path.string(), ":",
                          line_number, ": header must name the columns file, size_bytes and sha256");
      continue;
    }
    const int needed = std::max({col_file, col_size, col_sha});
    KVBENCH_CHECK_INPUT(static_cast<int>(cells.size()) > needed, path.string(), ":", line_number,
                        ": expected at least ", needed + 1, " tab-separated columns, got ", cells.size());
    ChecksumEntry entry;
    entry.file = cells[col_file];
    const std::string& size = cells[col_size];
    KVBENCH_CHECK_INPUT(!size.empty() && size.find_first_not_of("0123456789") == std::string::npos,
                        path.string(), ":", line_number, ": field 'size_bytes' must be a number, got '",
                        size, "'");
    entry.size = std::stoll(size);
    entry.sha256 = cells[col_sha];
    KVBENCH_CHECK_INPUT(entry.sha256.size() == 64 &&
                            entry.sha256.find_first_not_of("0123456789abcdef") == std::string::npos,
                        path.string(), ":", line_number,
                        ": field 'sha256' must be 64 lowercase hex digits, got '", entry.sha256, "'");
    out.push_back(std::move(entry));
  }
  KVBENCH_CHECK_INPUT(col_file >= 0, path.string(), ": no header line (file, size_bytes, sha256)");
  return out;
}

std::filesystem::path default_data_root() {
  return std::filesystem::path(expand_env("${KVBENCH_DATA_DIR:-" + source_dir() + "/../shared/data}"))
      .lexically_normal();
}

std::vector<DataFile> select_data_files(const DataSourceOptions& options,
                                        const std::vector<std::string>& names) {
  const std::filesystem::path sources_path =
      options.sources.empty() ? std::filesystem::path(source_dir()) / "datasets" / "data_sources.json"
                              : options.sources;
  std::ifstream in(sources_path, std::ios::binary);
  KVBENCH_CHECK_INPUT(in.good(), "data source registry not found: ", sources_path.string());
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, false);
  const std::string where = sources_path.string();
  KVBENCH_CHECK_INPUT(!doc.is_discarded() && doc.is_object(), where, ": invalid JSON");
  KVBENCH_CHECK_INPUT(doc.contains("groups") && doc["groups"].is_array(), where,
                      ": field 'groups' must be an array");

  // Every registered file, in registry order, with the names that select it.
  struct Candidate {
    std::string group;
    std::string file;
    json group_doc;
  };
  std::vector<Candidate> all;
  std::map<std::string, std::set<size_t>> by_name;
  for (size_t g = 0; g < doc["groups"].size(); ++g) {
    const json& group = doc["groups"][g];
    const std::string group_where = str_cat(where, ": groups[", g, "]");
    const std::string name = json_string(group, "name", group_where);
    KVBENCH_CHECK_INPUT(group.contains("files") && group["files"].is_array(), group_where,
                        ": field 'files' must be an array");
    for (const auto& f : group["files"]) {
      KVBENCH_CHECK_INPUT(f.is_string(), group_where, ": 'files' must hold strings");
      const std::string file = f.get<std::string>();
      const size_t index = all.size();
      all.push_back({name, file, group});
      for (const std::string& key : {name, file, stem_of(file), name + "/" + file, name + "/" + stem_of(file)})
        by_name[key].insert(index);
    }
  }

  std::vector<size_t> chosen;
  std::set<size_t> seen;
  if (names.empty()) {
    for (size_t i = 0; i < all.size(); ++i) chosen.push_back(i);
  } else {
    for (const auto& name : names) {
      auto it = by_name.find(name);
      if (it == by_name.end()) {
        std::vector<std::string> known;
        for (const auto& [key, unused] : by_name) known.push_back(key);
        std::string hint = closest_match(name, known);
        KVBENCH_FAIL(ErrorKind::kUsage, "unknown data file or group '", name, "'",
                     hint.empty() ? "" : str_cat(" (did you mean '", hint, "'?)"),
                     "; see ", where);
      }
      std::set<std::string> groups;
      for (size_t i : it->second) groups.insert(all[i].group);
      KVBENCH_CHECK_KIND(ErrorKind::kUsage, groups.size() == 1 || it->second.size() == 1 ||
                                                groups.count(name) == 1,
                         "data file name '", name, "' is in several groups; write group/file");
      for (size_t i : it->second)
        if (seen.insert(i).second) chosen.push_back(i);
    }
    std::sort(chosen.begin(), chosen.end());
  }

  std::map<std::string, std::map<std::string, ChecksumEntry>> tables;  // by group, then file
  std::map<std::string, std::filesystem::path> table_paths;            // by group
  std::vector<DataFile> out;
  for (size_t i : chosen) {
    const Candidate& c = all[i];
    const json& group = c.group_doc;
    const std::string group_where = str_cat(where, ": group '", c.group, "'");
    if (!tables.count(c.group)) {
      std::filesystem::path table = options.checksums.empty()
                                        ? options.data_root / json_string(group, "checksums", group_where)
                                        : options.checksums;
      auto& by_file = tables[c.group];
      for (auto& entry : read_checksum_table(table)) by_file[entry.file] = entry;
      table_paths[c.group] = table;
    }
    const auto& by_file = tables[c.group];
    auto entry = by_file.find(c.file);
    KVBENCH_CHECK_INPUT(entry != by_file.end(), table_paths[c.group].string(), ": no checksum for '", c.file,
                        "' (group ", c.group, ")");
    KVBENCH_CHECK_INPUT(group.contains("download") && group["download"].is_object(), group_where,
                        ": field 'download' must be an object");
    const json& download = group["download"];
    DataFile f;
    f.group = c.group;
    f.file = c.file;
    f.dest = options.data_root / json_string(group, "dest_dir", group_where) / c.file;
    f.size = entry->second.size;
    f.sha256 = entry->second.sha256;
    f.kind = json_string(download, "kind", group_where + " download");
    std::string base = options.base_url.empty() ? json_string(download, "base_url", group_where + " download")
                                                : options.base_url;
    if (!base.empty() && base.back() != '/') base += '/';
    if (f.kind == "zip") {
      const std::string archive = json_string(download, "archive", group_where + " download");
      f.url = base + archive;
      f.member = json_string(download, "member_prefix", group_where + " download") + c.file;
      f.archive_cache = options.data_root / "downloads" / c.group / archive;
    } else if (f.kind == "files") {
      f.url = base + json_string(download, "path_prefix", group_where + " download") + c.file;
    } else {
      KVBENCH_FAIL(ErrorKind::kInput, group_where, ": download.kind must be zip or files, got '",
                   f.kind, "'");
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace kvbench
