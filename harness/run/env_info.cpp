// SPDX-License-Identifier: Apache-2.0
#include "harness/run/env_info.h"

#include "harness/source_dir.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace kvbench {
namespace {

// Output of a shell command (stderr discarded), trailing whitespace trimmed; "" on failure.
std::string command_output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return out;
  std::array<char, 512> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  int status = ::pclose(pipe);
  if (status != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "";
}

long long memory_bytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<long long>(pages) * page : 0;
}

}  // namespace

nlohmann::json collect_env_info() {
  nlohmann::json env;
  const std::string& src = source_dir();
  std::string sha = command_output("git -C '" + src + "' rev-parse HEAD");
  env["git_sha"] = sha.empty() ? nlohmann::json(nullptr) : nlohmann::json(sha);
  env["git_dirty"] = sha.empty() ? nlohmann::json(nullptr)
                                 : nlohmann::json(!command_output("git -C '" + src +
                                                                  "' status --porcelain --untracked-files=no")
                                                       .empty());
  env["kvbench_version"] = KVBENCH_VERSION;
#if defined(__clang__)
  env["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  env["compiler"] = std::string("gcc ") + __VERSION__;
#endif
#ifdef NDEBUG
  env["build_type"] = "release";
#else
  env["build_type"] = "debug";
#endif
  struct utsname u {};
  if (::uname(&u) == 0) env["os"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  env["host"] = host;
  env["cpu"] = {{"model", cpu_model()}, {"threads", std::thread::hardware_concurrency()}};
  env["memory_bytes"] = memory_bytes();
  nlohmann::json gpus = nlohmann::json::array();
  std::string smi = command_output(
      "nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader,nounits");
  size_t start = 0;
  while (start < smi.size()) {
    size_t end = smi.find('\n', start);
    std::string line = smi.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? smi.size() : end + 1;
    size_t a = line.find(", "), b = line.find(", ", a + 2);
    if (a == std::string::npos || b == std::string::npos) continue;
    gpus.push_back({{"name", line.substr(0, a)},
                    {"driver", line.substr(a + 2, b - a - 2)},
                    {"memory_mib", std::stoll(line.substr(b + 2))}});
  }
  env["gpus"] = gpus;
  return env;
}

}  // namespace kvbench
