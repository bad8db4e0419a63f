// SPDX-License-Identifier: Apache-2.0
#include "harness/run/sharded_run.h"

#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/run/run_store.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace kvbench {

using nlohmann::json;
namespace fs = std::filesystem;

std::string cell_key(const RunPlan& plan) { return plan.label + "__" + plan.hash; }

size_t sample_groups(const RunPlan& plan) {
  const json& output = plan.run.resolved["output"];
  return output.contains("sample_groups") && output["sample_groups"].is_number_integer()
             ? std::max<size_t>(1, output["sample_groups"].get<size_t>())
             : 1;
}

ShardPlan make_shard_plan(const std::vector<RunPlan>& plans, size_t shard_count) {
  std::vector<ShardCell> cells;
  for (const auto& plan : plans) cells.push_back({cell_key(plan), sample_groups(plan)});
  return ShardPlan(std::move(cells), shard_count);
}

CellShare cell_share(const RunPlan& plan, const ShardSpec& shard, const ShardPlan* shard_plan) {
  if (!shard.sharded()) return CellShare(cell_key(plan), sample_groups(plan));
  KVBENCH_ASSERT(shard_plan != nullptr, "a sharded run without its shard plan");
  return CellShare(*shard_plan, shard, cell_key(plan));
}

json shard_status(const ShardSpec& shard, const CellShare& share, const std::string& status,
                  const std::string& started, const std::string& finished, const std::vector<Sample>& samples,
                  const std::map<std::string, json>& rows, bool interrupted) {
  size_t selected = 0, recorded = 0, errors = 0;
  for (const auto& sample : samples) {
    if (!share.owns_sample(sample.id)) continue;
    ++selected;
    auto it = rows.find(sample.id);
    if (it == rows.end()) continue;
    ++recorded;
    errors += it->second.contains("error") && !it->second["error"].is_null() ? 1 : 0;
  }
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  json slurm = json::object();
  for (const char* name : {"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_RESTART_COUNT"})
    if (const char* v = std::getenv(name)) slurm[name] = v;
  const char* gpus = std::getenv("CUDA_VISIBLE_DEVICES");
  return {{"shard", shard.text()}, {"status", status}, {"started", started},
          {"finished", finished.empty() ? json(nullptr) : json(finished)}, {"host", host},
          {"pid", static_cast<int64_t>(::getpid())}, {"groups", share.groups()},
          {"group_count", share.group_count()}, {"selected", selected}, {"recorded", recorded},
          {"errors", errors}, {"missing", selected - recorded}, {"interrupted", interrupted}, {"slurm", slurm},
          {"cuda_visible_devices", gpus ? json(gpus) : json(nullptr)}};
}

void write_sweep_manifests(const std::vector<RunPlan>& plans, const std::string& config_path) {
  std::map<std::string, std::vector<const RunPlan*>> by_dir;
  for (const auto& plan : plans) by_dir[plan.run.resolved["output"]["dir"].get<std::string>()].push_back(&plan);
  for (const auto& [dir, cells] : by_dir) {
    std::vector<std::string> keys;
    json list = json::array();
    for (const RunPlan* plan : cells) {
      keys.push_back(cell_key(*plan));
      list.push_back({{"key", cell_key(*plan)}, {"label", plan->label}, {"hash", plan->hash},
                      {"sample_groups", sample_groups(*plan)}, {"axes", plan->run.axes}});
    }
    std::sort(keys.begin(), keys.end());
    std::string joined;
    for (const auto& k : keys) joined += k + "\n";
    const json manifest = {{"config", fs::absolute(config_path).string()}, {"cells", list}};
    const fs::path path = fs::path(dir) / ("sweep-" + sha256_hex(joined).substr(0, 8) + ".json");
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (fs::is_regular_file(path)) continue;  // the same sweep wrote it (its content is the cell list)
    try {
      write_file_atomic(path, manifest.dump(2) + "\n");
    } catch (const Error& e) {
      // Array tasks start together and write the same file; the runs themselves report real
      // output errors, so a lost race here is only noted.
      if (!fs::is_regular_file(path)) std::fprintf(stderr, "kvbench: warning: %s\n", e.what());
    }
  }
}

}  // namespace kvbench
