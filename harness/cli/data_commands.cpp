// SPDX-License-Identifier: Apache-2.0
#include "harness/cli/data_commands.h"

#include "harness/data/data_check.h"
#include "harness/data/data_fetch.h"
#include "harness/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>

namespace kvbench {
namespace {

std::vector<DataFile> selected(DataCommandArgs& args) {
  if (args.sources.data_root.empty()) args.sources.data_root = default_data_root();
  return select_data_files(args.sources, args.names);
}

std::string display_name(const DataFile& file) { return file.group + "/" + file.file; }

}  // namespace

int run_data_check(DataCommandArgs args) {
  const std::vector<DataFile> files = selected(args);
  std::map<DataStatus, int> counts;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& file : files) {
    DataCheck check = check_data_file(file);
    ++counts[check.status];
    if (args.json) {
      rows.push_back({{"group", file.group}, {"file", file.file}, {"status", data_status_name(check.status)},
                      {"path", check.found.empty() ? file.dest.string() : check.found.string()},
                      {"gzip", check.gzip}, {"lf", check.lf},
                      {"expected_size", file.size}, {"expected_sha256", file.sha256},
                      {"actual_size", check.actual_size >= 0 ? nlohmann::json(check.actual_size) : nlohmann::json()},
                      {"actual_sha256", check.actual_sha256.empty() ? nlohmann::json() : nlohmann::json(check.actual_sha256)},
                      {"detail", check.detail}});
    } else {
      std::cout << std::left << std::setw(40) << display_name(file) << " " << std::setw(10)
                << data_status_name(check.status) << " " << check.detail << "\n";
    }
  }
  const int failing = counts[DataStatus::kDiffers] + (args.allow_missing ? 0 : counts[DataStatus::kMissing]);
  if (args.json) {
    std::cout << nlohmann::json({{"files", rows},
                                 {"summary", {{"ok", counts[DataStatus::kOk]},
                                              {"equivalent", counts[DataStatus::kEquivalent]},
                                              {"differs", counts[DataStatus::kDiffers]},
                                              {"missing", counts[DataStatus::kMissing]}}}})
                     .dump(2)
              << "\n";
  } else {
    std::cout << files.size() << " file" << (files.size() == 1 ? "" : "s") << ": "
              << counts[DataStatus::kOk] << " ok, " << counts[DataStatus::kEquivalent]
              << " equivalent (same content, other encoding), " << counts[DataStatus::kDiffers]
              << " differ, " << counts[DataStatus::kMissing] << " missing"
              << (args.allow_missing && counts[DataStatus::kMissing] > 0 ? " (allowed)" : "") << "\n";
    if (counts[DataStatus::kMissing] > 0 && !args.allow_missing)
      std::cout << "missing files can be downloaded with `kvbench data fetch NAME --data-root DIR`\n";
  }
  return failing > 0 ? 1 : 0;
}

int run_data_fetch(DataCommandArgs args) {
  KVBENCH_CHECK_KIND(ErrorKind::kUsage, !args.names.empty(),
                     "data fetch: name at least one file or group (e.g. longbench, narrativeqa)");
  const std::vector<DataFile> files = selected(args);
  // Never write into a folder marked read-only (../shared/data is r-x; root would write anyway).
  auto writable = [](const std::filesystem::path& dir) {
    std::error_code ec;
    auto status = std::filesystem::status(dir, ec);
    return ec || !std::filesystem::exists(status) ||
           (status.permissions() & std::filesystem::perms::owner_write) != std::filesystem::perms::none;
  };
  for (const auto& file : files) {
    for (const auto& dir : {args.sources.data_root, file.dest.parent_path()})
      KVBENCH_CHECK_KIND(ErrorKind::kUsage, writable(dir), "data fetch: ", dir.string(),
                         " is read-only; download into another folder with --data-root DIR");
  }
  DownloadOptions options;
  options.retries = args.retries;
  options.progress = args.progress;
  int failed = 0;
  for (const auto& outcome : fetch_data_files(files, options)) {
    std::cout << std::left << std::setw(40) << display_name(outcome.file) << " " << std::setw(8)
              << outcome.status << " " << outcome.detail << "\n";
    failed += outcome.status == "failed" ? 1 : 0;
  }
  if (failed > 0) std::cerr << "kvbench: error: " << failed << " of " << files.size() << " file(s) failed\n";
  return failed > 0 ? 1 : 0;
}

}  // namespace kvbench
