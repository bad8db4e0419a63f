// SPDX-License-Identifier: Apache-2.0
#include "harness/data/data_fetch.h"

#include "harness/data/data_check.h"
#include "harness/error.h"
#include "harness/hashing.h"

#include <zip.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <vector>

namespace kvbench {
namespace {

std::filesystem::path with_suffix(const std::filesystem::path& path, const std::string& suffix) {
  std::filesystem::path out = path;
  out += suffix;
  return out;
}

// Moves `path` to path + ".mismatch" (replacing an older one); returns the new path.
std::filesystem::path keep_aside(const std::filesystem::path& path) {
  std::filesystem::path aside = with_suffix(path, ".mismatch");
  std::filesystem::rename(path, aside);
  return aside;
}

// Size + sha256 of `part` against the table; a mismatch moves it aside and throws.
void verify_part(const DataFile& file, const std::filesystem::path& part, const std::string& origin) {
  ContentDigest digest = digest_content(part, /*gunzip=*/false);
  if (digest.size == file.size && digest.sha256 == file.sha256) return;
  std::filesystem::path aside = keep_aside(part);
  KVBENCH_FAIL(ErrorKind::kRun, "checksum mismatch for ", file.file, " (", origin, "): expected size ",
               file.size, " sha256 ", file.sha256, ", got size ", digest.size, " sha256 ",
               digest.sha256, "; kept aside as ", aside.string());
}

void install(const std::filesystem::path& part, const std::filesystem::path& dest) {
  std::filesystem::rename(part, dest);  // atomic within the folder
}

// Streams one zip member into `part`.
void extract_member(const std::filesystem::path& archive, const std::string& member,
                    const std::filesystem::path& part) {
  int error = 0;
  std::unique_ptr<zip_t, void (*)(zip_t*)> zip(zip_open(archive.string().c_str(), ZIP_RDONLY, &error),
                                               [](zip_t* z) { zip_discard(z); });
  if (!zip) {
    zip_error_t e;
    zip_error_init_with_code(&e, error);
    std::string message = zip_error_strerror(&e);
    zip_error_fini(&e);
    KVBENCH_FAIL(ErrorKind::kRun, archive.string(), ": not a readable zip archive: ", message);
  }
  zip_int64_t index = zip_name_locate(zip.get(), member.c_str(), 0);
  KVBENCH_CHECK(index >= 0, archive.string(), ": has no member '", member, "'");
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> in(
      zip_fopen_index(zip.get(), static_cast<zip_uint64_t>(index), 0), zip_fclose);
  KVBENCH_CHECK(in != nullptr, archive.string(), ": cannot open member '", member, "': ",
                zip_strerror(zip.get()));
  std::ofstream out(part, std::ios::binary | std::ios::trunc);
  KVBENCH_CHECK(out.good(), part.string(), ": cannot open for writing");
  std::vector<char> buffer(1 << 20);
  while (true) {
    zip_int64_t n = zip_fread(in.get(), buffer.data(), buffer.size());
    KVBENCH_CHECK(n >= 0, archive.string(), ": member '", member, "': ", zip_file_strerror(in.get()));
    if (n == 0) break;
    out.write(buffer.data(), static_cast<std::streamsize>(n));
  }
  out.close();
  KVBENCH_CHECK(out.good(), part.string(), ": write failed (disk full?)");
}

// The group's archive, downloaded (or resumed) unless an earlier fetch left it complete.
void ensure_archive(const DataFile& file, const DownloadOptions& options) {
  if (std::filesystem::is_regular_file(file.archive_cache)) return;
  std::filesystem::path part = with_suffix(file.archive_cache, ".part");
  DownloadOptions archive_options = options;
  archive_options.label = file.archive_cache.filename().string();
  download_to_part(file.url, part, /*expected_size=*/-1, archive_options);
  install(part, file.archive_cache);
}

}  // namespace

std::vector<FetchOutcome> fetch_data_files(const std::vector<DataFile>& files,
                                           const DownloadOptions& options) {
  std::vector<FetchOutcome> outcomes;
  std::set<std::string> bad_archives;  // moved aside during this call: their members fail too
  for (const auto& file : files) {
    FetchOutcome outcome{file, "failed", ""};
    try {
      DataCheck present = check_data_file(file);
      if (present.status == DataStatus::kOk || present.status == DataStatus::kEquivalent) {
        outcome.status = "present";
        outcome.detail = present.detail;
        outcomes.push_back(outcome);
        continue;
      }
      KVBENCH_CHECK(!(present.status == DataStatus::kDiffers && present.found == file.dest),
                    file.dest.string(), " exists but differs from the official file (",
                    present.detail, "); move it away and fetch again");
      std::filesystem::create_directories(file.dest.parent_path());
      const std::filesystem::path part = with_suffix(file.dest, ".part");
      if (file.kind == "files") {
        DownloadOptions file_options = options;
        file_options.label = file.file;
        download_to_part(file.url, part, file.size, file_options);
        verify_part(file, part, file.url);
      } else {
        KVBENCH_CHECK(!bad_archives.count(file.archive_cache.string()), file.url,
                      ": the archive failed verification above");
        ensure_archive(file, options);
        if (options.progress)
          std::cerr << "[fetch] extracting " << file.member << " -> " << file.dest.string() << "\n";
        extract_member(file.archive_cache, file.member, part);
        try {
          verify_part(file, part, file.url + " member " + file.member);
        } catch (const Error&) {
          bad_archives.insert(file.archive_cache.string());
          std::filesystem::path aside = keep_aside(file.archive_cache);
          std::cerr << "[fetch] archive moved to " << aside.string()
                    << " (the next fetch downloads it again)\n";
          throw;
        }
      }
      install(part, file.dest);
      outcome.status = "fetched";
      outcome.detail = str_cat(file.dest.string(), " (size ", file.size, ", sha256 verified)");
    } catch (const Error& e) {
      outcome.detail = e.what();
    } catch (const std::filesystem::filesystem_error& e) {
      outcome.detail = e.what();
    }
    outcomes.push_back(outcome);
  }
  return outcomes;
}

}  // namespace kvbench
