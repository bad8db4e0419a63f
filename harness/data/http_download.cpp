// SPDX-License-Identifier: Apache-2.0
#include "harness/data/http_download.h"

#include "harness/error.h"

#include <curl/curl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

namespace kvbench {
namespace {

using Clock = std::chrono::steady_clock;

void init_curl_once() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  KVBENCH_CHECK(ok, "libcurl initialization failed");
}

std::string mib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

// State of one HTTP request appending to the .part file.
struct Request {
  FILE* out = nullptr;
  CURL* curl = nullptr;
  int64_t offset = 0;          // bytes in the file when the request started (the Range start)
  int64_t received = 0;        // body bytes written by this request
  bool first_body = true;
  bool range_mismatch = false;
  std::string content_range;   // of the final response
  std::string write_error;
  // progress
  const DownloadOptions* options = nullptr;
  std::string label;
  bool tty = false;
  Clock::time_point start, last_print;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* r = static_cast<Request*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) r->content_range.clear();  // a new response (after a redirect)
  const std::string key = "content-range:";
  if (line.size() > key.size()) {
    std::string head = line.substr(0, key.size());
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == key) {
      std::string value = line.substr(key.size());
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
      const size_t start = value.find_first_not_of(' ');
      r->content_range = start == std::string::npos ? "" : value.substr(start);
    }
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* r = static_cast<Request*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400) return n;  // an error page: not written; perform() reports the status
  if (r->first_body) {
    r->first_body = false;
    if (status == 200 && r->offset > 0) {
      // The server ignored the Range: start over.
      if (::ftruncate(::fileno(r->out), 0) != 0 || std::fseek(r->out, 0, SEEK_SET) != 0) {
        r->write_error = "cannot truncate the partial file";
        return 0;
      }
      std::cerr << "[fetch] " << r->label << ": server ignored the range request; restarting\n";
      r->offset = 0;
    } else if (status == 206) {
      // "bytes START-END/TOTAL": START must be where the file ends.
      const std::string expected = "bytes " + std::to_string(r->offset) + "-";
      if (r->content_range.rfind(expected, 0) != 0) {
        r->range_mismatch = true;
        return 0;
      }
    }
  }
  if (std::fwrite(data, 1, n, r->out) != n) {
    r->write_error = "write failed (disk full?)";
    return 0;
  }
  r->received += static_cast<int64_t>(n);
  return n;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* r = static_cast<Request*>(user);
  if (!r->options->progress) return 0;
  const auto t = Clock::now();
  const bool due = r->tty ? t - r->last_print > std::chrono::milliseconds(200)
                          : t - r->last_print > std::chrono::seconds(5);
  if (!due) return 0;
  r->last_print = t;
  const double seconds = std::chrono::duration<double>(t - r->start).count();
  const int64_t done = r->offset + static_cast<int64_t>(now);
  std::string line = "[fetch] " + r->label + ": " + mib(done);
  if (total > 0) {
    const int64_t all = r->offset + static_cast<int64_t>(total);
    line += " / " + mib(all) + " (" + std::to_string(100 * done / std::max<int64_t>(all, 1)) + "%)";
  }
  if (seconds > 0) line += ", " + mib(static_cast<int64_t>(static_cast<double>(now) / seconds)) + "/s";
  std::cerr << (r->tty ? "\r" + line + "\033[K" : line + "\n") << std::flush;
  return 0;
}

bool retryable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

}  // namespace

DownloadResult download_to_part(const std::string& url, const std::filesystem::path& part,
                                int64_t expected_size, const DownloadOptions& options) {
  init_curl_once();
  std::filesystem::create_directories(part.parent_path());
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(part.string().c_str(), "ab"), std::fclose);
  KVBENCH_CHECK(out != nullptr, part.string(), ": cannot open for writing");
  KVBENCH_CHECK(::flock(::fileno(out.get()), LOCK_EX | LOCK_NB) == 0, part.string(),
                ": another process is downloading into this file");
  DownloadResult result;
  result.resumed_from = static_cast<int64_t>(std::filesystem::file_size(part));
  if (expected_size >= 0 && result.resumed_from > expected_size) {
    KVBENCH_CHECK(::ftruncate(::fileno(out.get()), 0) == 0, part.string(), ": cannot truncate");
    result.resumed_from = 0;
  }
  if (expected_size >= 0 && result.resumed_from == expected_size) {
    result.size = expected_size;
    return result;  // finished earlier; the caller verifies it
  }

  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  KVBENCH_CHECK(curl != nullptr, "libcurl: cannot create a handle");
  const std::string label = options.label.empty() ? part.filename().string() : options.label;
  const std::string agent = std::string("kvbench/") + KVBENCH_VERSION;
  for (int attempt = 0;; ++attempt) {
    Request r;
    r.out = out.get();
    r.curl = curl.get();
    r.offset = static_cast<int64_t>(std::filesystem::file_size(part));
    r.options = &options;
    r.label = label;
    r.tty = ::isatty(STDERR_FILENO) != 0;
    r.start = r.last_print = Clock::now();
    KVBENCH_CHECK(std::fseek(out.get(), 0, SEEK_END) == 0, part.string(), ": seek failed");
    curl_easy_reset(curl.get());
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, agent.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);   // stalled for 60 s: retry
    curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &r);
    const std::string range = std::to_string(r.offset) + "-";
    if (r.offset > 0) curl_easy_setopt(curl.get(), CURLOPT_RANGE, range.c_str());
    if (r.offset > 0 && options.progress)
      std::cerr << "[fetch] " << label << ": resuming at byte " << r.offset << "\n";

    CURLcode code = curl_easy_perform(curl.get());
    ++result.attempts;
    result.downloaded += r.received;
    std::fflush(out.get());
    if (options.progress && r.tty) std::cerr << "\n";
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    KVBENCH_CHECK(r.write_error.empty(), part.string(), ": ", r.write_error);
    if (r.range_mismatch) {
      KVBENCH_CHECK(::ftruncate(::fileno(out.get()), 0) == 0, part.string(), ": cannot truncate");
      KVBENCH_FAIL(ErrorKind::kRun, url, ": the server answered the range request for byte ", r.offset,
                   " with '", r.content_range, "'; the partial file was discarded, run again");
    }
    std::string problem;
    bool again = false;
    if (code == CURLE_OK && status == 416 && r.offset > 0) {
      // Range start at or past the end: the .part is complete if "bytes */SIZE" says so.
      if (r.content_range == "bytes */" + std::to_string(r.offset)) break;
      KVBENCH_CHECK(::ftruncate(::fileno(out.get()), 0) == 0, part.string(), ": cannot truncate");
      problem = str_cat("HTTP 416 for a range from byte ", r.offset, " (discarded the partial file)");
      again = true;
    } else if (code == CURLE_OK && status >= 400) {
      problem = str_cat("HTTP ", status);
      again = status >= 500;
    } else if (code != CURLE_OK) {
      problem = curl_easy_strerror(code);
      again = retryable(code);
    } else {
      break;  // 200 or 206, body complete
    }
    if (!again || attempt >= options.retries) {
      const auto kept = std::filesystem::file_size(part);
      out.reset();
      if (kept == 0) std::filesystem::remove(part);
      KVBENCH_FAIL(ErrorKind::kRun, "download failed: ", url, ": ", problem,
                   attempt > 0 ? str_cat(" (after ", attempt + 1, " attempts)") : "",
                   kept > 0 ? str_cat("; ", kept, " bytes kept in ", part.string(),
                                      ", run again to resume")
                            : "");
    }
    if (options.progress)
      std::cerr << "[fetch] " << label << ": " << problem << "; retrying (" << attempt + 1 << "/"
                << options.retries << ")\n";
    std::this_thread::sleep_for(std::chrono::duration<double>(options.retry_delay_s * (attempt + 1)));
  }
  KVBENCH_CHECK(::fsync(::fileno(out.get())) == 0, part.string(), ": fsync failed");
  result.size = static_cast<int64_t>(std::filesystem::file_size(part));
  if (options.progress)
    std::cerr << "[fetch] " << label << ": complete, " << mib(result.size) << " ("
              << mib(result.downloaded) << " downloaded now, " << result.attempts << " request"
              << (result.attempts == 1 ? "" : "s") << ")\n";
  return result;
}

}  // namespace kvbench
