// SPDX-License-Identifier: Apache-2.0
#include "harness/cli/workers.h"

#include "harness/error.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

namespace kvbench {
namespace {

std::vector<pid_t> g_children;
volatile sig_atomic_t g_interrupted = 0;

void forward_signal(int signal_number) {
  g_interrupted = 1;
  for (pid_t pid : g_children) ::kill(pid, signal_number);  // kill() is async-signal-safe
}

std::vector<std::string> split_ids(const std::string& text) {
  std::vector<std::string> ids;
  std::stringstream in(text);
  for (std::string id; std::getline(in, id, ',');)
    if (!id.empty()) ids.push_back(id);
  return ids;
}

}  // namespace

std::vector<std::string> worker_base_args(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--workers" || a == "--shard") {
      ++i;  // and its value
      continue;
    }
    if (a.rfind("--workers=", 0) == 0 || a.rfind("--shard=", 0) == 0) continue;
    args.push_back(a);
  }
  return args;
}

std::vector<std::string> visible_gpus() {
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) {
    const std::string text = v;
    if (text.empty() || text == "-1" || text == "NoDevFiles") return {};
    return split_ids(text);
  }
  std::vector<std::string> ids;
  FILE* pipe = ::popen("nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null", "r");
  if (pipe == nullptr) return ids;
  std::array<char, 256> line{};
  while (std::fgets(line.data(), line.size(), pipe)) {
    std::string id = line.data();
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) ids.push_back(id);
  }
  const int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return ids;
}

int run_workers(const std::vector<std::string>& base_args, const ShardSpec& shard, size_t workers) {
  const std::vector<std::string> gpus = visible_gpus();
  if (!gpus.empty() && gpus.size() < workers)
    std::cerr << "kvbench: warning: " << workers << " workers share " << gpus.size() << " GPU(s)\n";
  struct Child {
    pid_t pid;
    ShardSpec shard;
    std::string gpu;
    int code = -1;
  };
  std::vector<Child> children;
  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  std::cout.flush();
  std::cerr.flush();
  for (size_t w = 0; w < workers; ++w) {
    const ShardSpec sub = sub_shard(shard, w, workers);
    std::vector<std::string> args = {"kvbench"};
    args.insert(args.end(), base_args.begin(), base_args.end());
    args.insert(args.end(), {"--shard", sub.text(), "--no-progress"});
    const std::string gpu = gpus.empty() ? "" : gpus[w % gpus.size()];
    const pid_t pid = ::fork();
    KVBENCH_CHECK(pid >= 0, "--workers: fork failed: ", std::strerror(errno));
    if (pid == 0) {
      if (!gpu.empty()) ::setenv("CUDA_VISIBLE_DEVICES", gpu.c_str(), 1);
      std::vector<char*> cargs;
      for (auto& a : args) cargs.push_back(a.data());
      cargs.push_back(nullptr);
      ::execv("/proc/self/exe", cargs.data());
      std::fprintf(stderr, "kvbench: error: --workers: cannot start a worker: %s\n", std::strerror(errno));
      ::_exit(1);
    }
    children.push_back({pid, sub, gpu});
    g_children.push_back(pid);
    std::cerr << "[workers] worker " << w << ": pid " << pid << ", shard " << sub.text()
              << (gpu.empty() ? "" : ", CUDA_VISIBLE_DEVICES=" + gpu) << "\n";
  }
  for (auto& child : children) {
    int status = 0;
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {}
    child.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  g_children.clear();
  int code = 0;
  bool any_interrupted = g_interrupted != 0, any_config = false, any_failed = false;
  for (size_t w = 0; w < children.size(); ++w) {
    const Child& c = children[w];
    std::cerr << "[workers] worker " << w << " (shard " << c.shard.text() << "): exit code " << c.code << "\n";
    any_interrupted |= c.code == 130;
    any_config |= c.code == 2;
    any_failed |= c.code != 0;
  }
  if (any_interrupted) code = 130;
  else if (any_config) code = 2;
  else if (any_failed) code = 1;
  return code;
}

}  // namespace kvbench
