// SPDX-License-Identifier: Apache-2.0
#include "harness/data/data_check.h"

#include "harness/error.h"
#include "harness/hashing.h"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <vector>

namespace kvbench {
namespace {

// Feeds bytes to two digests: as given, and with each '\n' not preceded by '\r' widened to "\r\n".
class DualDigest {
 public:
  void update(const char* data, size_t size) {
    plain_.update(data, size);
    size_ += static_cast<int64_t>(size);
    size_t start = 0;
    for (size_t i = 0; i < size; ++i) {
      if (data[i] == '\n' && !previous_cr(data, i)) {
        crlf_.update(data + start, i - start);
        crlf_.update("\r\n", 2);
        crlf_size_ += static_cast<int64_t>(i - start) + 2;
        start = i + 1;
      }
    }
    crlf_.update(data + start, size - start);
    crlf_size_ += static_cast<int64_t>(size - start);
    if (size > 0) last_was_cr_ = data[size - 1] == '\r';
  }
  ContentDigest finish() { return {size_, plain_.hex(), crlf_size_, crlf_.hex()}; }

 private:
  bool previous_cr(const char* data, size_t i) const { return i == 0 ? last_was_cr_ : data[i - 1] == '\r'; }

  Sha256 plain_, crlf_;
  int64_t size_ = 0, crlf_size_ = 0;
  bool last_was_cr_ = false;
};

std::string short_sha(const std::string& sha) { return sha.substr(0, 16) + "..."; }

}  // namespace

std::string data_status_name(DataStatus status) {
  switch (status) {
    case DataStatus::kOk: return "ok";
    case DataStatus::kEquivalent: return "equivalent";
    case DataStatus::kDiffers: return "differs";
    case DataStatus::kMissing: return "missing";
  }
  return "?";
}

ContentDigest digest_content(const std::filesystem::path& path, bool gunzip) {
  DualDigest digest;
  std::vector<char> buffer(1 << 20);
  if (!gunzip) {
    std::ifstream in(path, std::ios::binary);
    KVBENCH_CHECK_INPUT(in.good(), path.string(), ": cannot read file");
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      digest.update(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    KVBENCH_CHECK_INPUT(in.eof(), path.string(), ": read error");
    return digest.finish();
  }
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.string().c_str(), "rb"), gzclose);
  KVBENCH_CHECK_INPUT(file != nullptr, path.string(), ": cannot open");
  while (true) {
    int n = gzread(file.get(), buffer.data(), static_cast<unsigned>(buffer.size()));
    if (n < 0) {
      int code = 0;
      KVBENCH_FAIL(ErrorKind::kInput, path.string(), ": corrupt gzip: ", gzerror(file.get(), &code));
    }
    if (n == 0) break;
    digest.update(buffer.data(), static_cast<size_t>(n));
  }
  int code = Z_OK;
  const char* message = gzerror(file.get(), &code);  // a truncated stream ends quietly otherwise
  KVBENCH_CHECK_INPUT(code == Z_OK || code == Z_STREAM_END, path.string(), ": corrupt gzip: ", message);
  return digest.finish();
}

DataCheck check_data_file(const DataFile& file) {
  DataCheck check;
  std::filesystem::path gz = file.dest;
  gz += ".gz";
  if (std::filesystem::is_regular_file(file.dest)) {
    check.found = file.dest;
  } else if (std::filesystem::is_regular_file(gz)) {
    check.found = gz;
    check.gzip = true;
  } else {
    check.status = DataStatus::kMissing;
    check.detail = str_cat("not found: ", file.dest.string(), " (nor ", gz.filename().string(), ")");
    return check;
  }
  ContentDigest digest;
  try {
    digest = digest_content(check.found, check.gzip);
  } catch (const Error& e) {
    check.status = DataStatus::kDiffers;
    check.detail = e.what();
    return check;
  }
  check.actual_size = digest.size;
  check.actual_sha256 = digest.sha256;
  const std::string encoding = check.gzip ? "gzip copy " : "";
  if (digest.size == file.size && digest.sha256 == file.sha256) {
    check.status = check.gzip ? DataStatus::kEquivalent : DataStatus::kOk;
    check.detail = check.gzip ? str_cat("content-identical (gzip): ", check.found.string())
                              : check.found.string();
  } else if (digest.crlf_size == file.size && digest.crlf_sha256 == file.sha256) {
    check.status = DataStatus::kEquivalent;
    check.lf = true;
    check.detail = str_cat("content-identical (", check.gzip ? "gzip, " : "",
                           "LF line endings; official is CRLF): ", check.found.string());
  } else {
    check.status = DataStatus::kDiffers;
    check.detail = str_cat(encoding, check.found.string(), ": expected size ", file.size, " sha256 ",
                           file.sha256, "; actual", check.gzip ? " (decompressed)" : "", " size ",
                           digest.size, " sha256 ", digest.sha256,
                           digest.crlf_size != digest.size
                               ? str_cat(" (with CRLF line endings: size ", digest.crlf_size,
                                         " sha256 ", short_sha(digest.crlf_sha256), ")")
                               : "");
  }
  return check;
}

}  // namespace kvbench
