// SPDX-License-Identifier: Apache-2.0
// kv_accounting_record (harness/engine/kv_accounting.h). Fields, all totals over layers:
//   tokens_attended                KV rows one KV head of one sequence attended at the last decode
//                                  step (mean over layers/heads/sequences; after prefill when no step)
//   tokens_attended_mean           the same, averaged over decode steps (null without decode steps)
//   device_bytes_total             persistent device bytes at the end = kv_row_device_bytes +
//   kv_row_device_bytes              metadata_device_bytes (KV rows / selection metadata)
//   metadata_device_bytes
//   peak_device_bytes_total        peak device bytes (persistent + transient)
//   host_bytes_total               resident host bytes (offloaded KV)
//   host_to_device_bytes           bytes moved host->device in the whole generation
//   host_to_device_bytes_prefill   ... of which during prefill (first token included)
//   host_to_device_bytes_per_step_mean / _max   per decode step (null without decode steps)
//   cache_hits, cache_lookups, cache_hit_rate   hits / lookups (null when nothing was looked up)
//   layer_budgets                  per layer at the end: {"sink": [...], "local": [...], "outliers":
//                                  [...], "selected": [...], "generated": [...], "total": [...]}
//   budget_sink ... budget_total   the means of those lists over layers
//   steps (per_step only)          per decode step: tokens_attended, host_to_device_bytes (moved
//                                  in that step), device_bytes_total, cache_hit_rate (null: no lookups)
// Methods that report no layer budgets get neither layer_budgets nor budget_* fields.
#include "harness/engine/kv_accounting.h"

#include <algorithm>

namespace kvbench {
namespace {

using nlohmann::json;

json hit_rate(int64_t hits, int64_t lookups) {
  return lookups > 0 ? json(static_cast<double>(hits) / static_cast<double>(lookups)) : json(nullptr);
}

}  // namespace

json kv_accounting_record(const GenerateResult& result, bool per_step) {
  const KVMemory& end = result.kv;
  json out = {{"tokens_attended", end.tokens_attended},
              {"device_bytes_total", end.device_bytes},
              {"kv_row_device_bytes", end.kv_device_bytes},
              {"metadata_device_bytes", end.metadata_device_bytes},
              {"peak_device_bytes_total", end.peak_device_bytes},
              {"host_bytes_total", end.host_bytes},
              {"host_to_device_bytes", end.host_to_device_bytes},
              {"host_to_device_bytes_prefill", result.kv_after_prefill.host_to_device_bytes},
              {"cache_hits", end.cache_hits},
              {"cache_lookups", end.cache_lookups},
              {"cache_hit_rate", hit_rate(end.cache_hits, end.cache_lookups)}};

  // Per decode step: counters are cumulative since reset(), so a step's share is the difference
  // to the previous snapshot (the first step's to the one after prefill).
  const size_t steps = result.kv_steps.size();
  json step_tokens = json::array(), step_h2d = json::array(), step_device = json::array(),
       step_hit_rate = json::array();
  double tokens_sum = 0, h2d_sum = 0;
  int64_t h2d_max = 0;
  const KVMemory* previous = &result.kv_after_prefill;
  for (const KVMemory& m : result.kv_steps) {
    const int64_t moved = m.host_to_device_bytes - previous->host_to_device_bytes;
    tokens_sum += m.tokens_attended;
    h2d_sum += static_cast<double>(moved);
    h2d_max = std::max(h2d_max, moved);
    if (per_step) {
      step_tokens.push_back(m.tokens_attended);
      step_h2d.push_back(moved);
      step_device.push_back(m.device_bytes);
      step_hit_rate.push_back(hit_rate(m.cache_hits - previous->cache_hits, m.cache_lookups - previous->cache_lookups));
    }
    previous = &m;
  }
  const double n = static_cast<double>(steps);
  out["tokens_attended_mean"] = steps > 0 ? json(tokens_sum / n) : json(nullptr);
  out["host_to_device_bytes_per_step_mean"] = steps > 0 ? json(h2d_sum / n) : json(nullptr);
  out["host_to_device_bytes_per_step_max"] = steps > 0 ? json(h2d_max) : json(nullptr);

  if (!end.layer_budgets.empty()) {
    json lists = {{"sink", json::array()}, {"local", json::array()},     {"outliers", json::array()},
                  {"selected", json::array()}, {"generated", json::array()}, {"total", json::array()}};
    double sums[6] = {0, 0, 0, 0, 0, 0};
    for (const LayerBudget& b : end.layer_budgets) {
      const int64_t values[6] = {b.sink, b.local, b.outliers, b.selected, b.generated, b.total()};
      const char* names[6] = {"sink", "local", "outliers", "selected", "generated", "total"};
      for (int i = 0; i < 6; ++i) {
        lists[names[i]].push_back(values[i]);
        sums[i] += static_cast<double>(values[i]);
      }
    }
    out["layer_budgets"] = lists;
    const double layers = static_cast<double>(end.layer_budgets.size());
    out["budget_sink"] = sums[0] / layers;
    out["budget_local"] = sums[1] / layers;
    out["budget_outliers"] = sums[2] / layers;
    out["budget_selected"] = sums[3] / layers;
    out["budget_generated"] = sums[4] / layers;
    out["budget_total"] = sums[5] / layers;
  }
  if (per_step) {
    out["steps"] = {{"tokens_attended", step_tokens},
                    {"host_to_device_bytes", step_h2d},
                    {"device_bytes_total", step_device},
                    {"cache_hit_rate", step_hit_rate}};
  }
  return out;
}

}  // namespace kvbench
