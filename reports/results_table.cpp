// SPDX-License-Identifier: Apache-2.0
#include "reports/results_table.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <set>

namespace kvbench {

namespace {

// metrics.json kv.<field>.mean of the first field present, scaled and formatted; "-" when none is.
std::string kv_mean(const nlohmann::json& run, std::initializer_list<const char*> fields, double scale,
                    const char* format) {
  const nlohmann::json kv = run.value("kv", nlohmann::json::object());
  for (const char* field : fields) {
    if (!kv.contains(field) || !kv[field].is_object() || !kv[field].contains("mean")) continue;
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, kv[field]["mean"].get<double>() * scale);
    return buffer;
  }
  return "-";
}

}  // namespace

std::string format_results_table(const std::vector<nlohmann::json>& runs) {
  std::set<std::string> score_names;
  for (const auto& r : runs) {
    const nlohmann::json scores = r.value("scores", nlohmann::json::object());
    for (const auto& [name, unused] : scores.items()) score_names.insert(name);
  }
  std::vector<std::string> header = {"task", "protocol", "model", "method", "budget", "n"};
  header.insert(header.end(), score_names.begin(), score_names.end());
  header.insert(header.end(), {"tokens attended", "GPU KV+meta MiB"});
  header.push_back("status");
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs) {
    const auto& run = r["run"];
    std::string label = run.value("label", "");
    std::string budget = label.substr(label.find_last_of('/') + 1);
    const auto& n = r["n_samples"];
    std::string count = std::to_string(n.value("scored", 0)) + "/" + std::to_string(n.value("selected", 0));
    std::vector<std::string> row = {run.value("task", ""), run.value("protocol", ""),
                                    run.value("model", ""), run.value("method", ""), budget, count};
    for (const auto& name : score_names) {
      if (r["scores"].contains(name)) {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.4f ± %.4f", r["scores"][name]["mean"].get<double>(),
                      r["scores"][name]["stderr"].get<double>());
        row.push_back(buffer);
      } else {
        row.push_back("-");
      }
    }
    row.push_back(kv_mean(r, {"tokens_attended_mean", "tokens_attended"}, 1.0, "%.1f"));
    row.push_back(kv_mean(r, {"device_bytes"}, 1.0 / (1024.0 * 1024.0), "%.2f"));
    row.push_back(r.value("status", ""));
    rows.push_back(row);
  }
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (size_t c = 0; c < cells.size(); ++c)
      out += " " + cells[c] + std::string(width[c] - cells[c].size(), ' ') + " |";
    return out + "\n";
  };
  std::string out = line(header);
  std::vector<std::string> rule;
  for (size_t w : width) rule.push_back(std::string(w, '-'));
  out += line(rule);
  for (const auto& row : rows) out += line(row);
  return out;
}

}  // namespace kvbench
