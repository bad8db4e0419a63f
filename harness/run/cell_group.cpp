// SPDX-License-Identifier: Apache-2.0
// Shared-prefill groups of a sweep and their sample-by-sample execution (see cell_group.h).
#include "harness/run/cell_group.h"

#include "harness/registry.h"

#include <map>
#include <optional>
#include <string>

namespace kvbench {
namespace {

using nlohmann::json;

std::optional<PrefillUses> method_uses(const RunPlan& plan) {
  const auto& methods = catalog()["method"];
  auto it = methods.find(plan.run.resolved["method"]["name"].get<std::string>());
  return it == methods.end() ? std::nullopt : PrefillUses::of_entry(it->second.extra);
}

// What the cells of one group have in common: the model, the task (samples and prompts) and the
// prefill chunking.
std::string group_key(const RunPlan& plan) {
  const json& r = plan.run.resolved;
  return json{r["model"], r["task"], r["generation"]["prefill_chunk"]}.dump();
}

}  // namespace

bool shares_prefill(const RunPlan& plan) {
  const json& generation = plan.run.resolved["generation"];
  return generation.value("shared_prefill", false) && generation.value("batch_size", int64_t{1}) == 1 &&
         method_uses(plan).has_value();
}

std::vector<std::vector<size_t>> prefill_groups(const std::vector<RunPlan>& plans) {
  std::vector<std::vector<size_t>> groups;
  std::map<std::string, size_t> group_of_key;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (!shares_prefill(plans[i])) {
      groups.push_back({i});
      continue;
    }
    const std::string key = group_key(plans[i]);
    auto it = group_of_key.find(key);
    if (it == group_of_key.end()) {
      group_of_key[key] = groups.size();
      groups.push_back({i});
    } else {
      groups[it->second].push_back(i);
    }
  }
  return groups;
}

bool run_cell_group(const std::vector<CellRun*>& cells, const std::atomic<bool>* stop) {
  // Sample order: the first cell's pending samples, then any other cell's not seen yet.
  std::vector<std::string> order;
  std::map<std::string, bool> seen;
  std::vector<std::map<std::string, const Sample*>> sample_of(cells.size());
  for (size_t c = 0; c < cells.size(); ++c) {
    for (const Sample* sample : cells[c]->pending()) {
      sample_of[c][sample->id] = sample;
      if (!seen[sample->id]) order.push_back(sample->id);
      seen[sample->id] = true;
    }
  }
  std::vector<std::optional<PrefillUses>> uses(cells.size());
  for (size_t c = 0; c < cells.size(); ++c)
    if (shares_prefill(cells[c]->plan())) uses[c] = method_uses(cells[c]->plan());
  for (const std::string& id : order) {
    if (stop && stop->load()) return true;
    // The prefill is shared when at least two of the cells running this sample can replay it; the
    // recording then keeps what every one of them uses.
    std::vector<size_t> running;
    PrefillUses wanted;
    size_t sharing = 0;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (!sample_of[c].count(id)) continue;
      running.push_back(c);
      if (uses[c]) {
        ++sharing;
        wanted |= *uses[c];
      }
    }
    for (size_t c : running) {
      const bool shared = sharing >= 2 && uses[c].has_value();
      cells[c]->run_sample(*sample_of[c][id], shared ? std::optional<PrefillUses>(wanted) : std::nullopt);
    }
    for (size_t c : running) cells[c]->release_shared_prefill();
  }
  return false;
}

}  // namespace kvbench
