// SPDX-License-Identifier: Apache-2.0
#include "reports/tidy_json.h"

#include "reports/stats.h"

#include <cmath>

namespace kvbench {
namespace {

using nlohmann::json;

json nan_to_null(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

}  // namespace

std::string tidy_jsonl(const std::vector<RunRecord>& runs) {
  std::string out;
  for (const auto& run : runs) {
    json base = {{"dir", run.dir.string()},     {"label", run.label},
                 {"hash", run.hash},            {"task", run.task},
                 {"protocol", run.protocol},    {"model", run.model},
                 {"method", run.method},        {"method_params", json::parse(run.method_params)},
                 {"budget_tokens", nan_to_null(run.budget_tokens)},
                 {"budget_percent", nan_to_null(run.budget_percent)},
                 {"status", run.status},        {"device", run.device},
                 {"dataset_sha256", run.dataset_sha256}, {"kvbench_version", run.kvbench_version},
                 {"n_selected", run.selected},  {"n_scored", run.scored}};
    auto emit = [&](const std::string& kind, const std::string& metric, const std::string& stat, const json& value,
                    const json& extra) {
      json row = base;
      row["kind"] = kind;
      row["metric"] = metric;
      row["stat"] = stat;
      row["value"] = value;
      for (const auto& [k, v] : extra.items()) row[k] = v;
      out += row.dump() + "\n";
    };
    for (const auto& [name, s] : section(run.metrics, "scores").items())
      emit("score", name, "mean", s.value("mean", json(nullptr)),
           {{"stderr", s.value("stderr", json(nullptr))}, {"n", s.value("n", json(nullptr))}});
    for (const auto& [field, s] : section(run.metrics, "performance").items()) {
      for (const auto& [stat, v] : s.items()) emit("latency", field, stat, v, json::object());
      std::vector<double> xs;
      for (const json* row : run.scored_rows())
        if (row->contains("timing") && (*row)["timing"].contains(field) && (*row)["timing"][field].is_number())
          xs.push_back((*row)["timing"][field].get<double>());
      if (!xs.empty()) emit("latency", field, "p99", percentile(xs, 0.99), json::object());
    }
    for (const char* kind : {"memory", "kv"})
      for (const auto& [field, s] : section(run.metrics, kind).items())
        for (const auto& [stat, v] : s.items()) emit(kind, field, stat, v, json::object());
    if (run.metrics.value("scores", json::object()).empty())
      emit("status", "run", "status", run.status, json::object());  // a run with nothing scored still appears
  }
  return out;
}

}  // namespace kvbench
