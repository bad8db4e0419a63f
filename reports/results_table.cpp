// SPDX-License-Identifier: Apache-2.0
#include "reports/results_table.h"

#include "reports/result_grid.h"
#include "reports/tables.h"

#include <set>

namespace kvbench {
namespace {

using nlohmann::json;

// metrics.json kv.<field>.mean of the first field present, or NaN.
double kv_mean(const RunRecord& run, std::initializer_list<const char*> fields) {
  const json kv = run.metrics.value("kv", json::object());
  for (const char* field : fields)
    if (kv.contains(field) && kv[field].is_object() && kv[field].contains("mean") && kv[field]["mean"].is_number())
      return kv[field]["mean"].get<double>();
  return std::nan("");
}

}  // namespace

Table results_table(const std::vector<RunRecord>& runs) {
  std::set<std::string> score_names, devices;
  for (const auto& r : runs) {
    for (const auto& [name, unused] : section(r.metrics, "scores").items()) score_names.insert(name);
    devices.insert(r.device.empty() ? "unknown device" : r.device);
  }
  // The memory column names the device: in the header when every run used the same one, else per cell.
  const bool one_device = devices.size() == 1;
  Table t;
  t.id = "results";
  t.header = {"task", "protocol", "model", "method", "budget", "n"};
  t.key_columns = 5;
  t.header.insert(t.header.end(), score_names.begin(), score_names.end());
  t.header.push_back("tokens attended");
  t.header.push_back(one_device ? "KV+meta MiB on " + *devices.begin() : "KV+meta MiB (device)");
  t.header.push_back("status");
  for (const auto& r : runs) {
    std::vector<TableCell> row = {text_cell(r.task), text_cell(r.protocol), text_cell(r.model), text_cell(r.method),
                                  text_cell(budget_text(r)),
                                  text_cell(std::to_string(r.scored) + "/" + std::to_string(r.selected))};
    const json scores = r.metrics.value("scores", json::object());
    for (const auto& name : score_names) {
      if (!scores.contains(name)) {
        row.push_back(text_cell("-"));
        continue;
      }
      MeanStderr s{scores[name].value("mean", 0.0), scores[name].value("stderr", 0.0), scores[name].value("n", size_t{0})};
      TableCell c = stat_cell(s);
      c.text = format_fixed(s.mean, 4) + " ± " + format_fixed(s.stderr_, 4);  // n is the "n" column
      row.push_back(c);
    }
    row.push_back(text_cell(format_fixed(kv_mean(r, {"tokens_attended_mean", "tokens_attended"}), 1)));
    std::string mib = format_fixed(kv_mean(r, {"device_bytes_total"}) / (1024.0 * 1024.0), 2);
    if (!one_device && mib != "-") mib += " (" + (r.device.empty() ? std::string("unknown device") : r.device) + ")";
    row.push_back(text_cell(mib));
    row.push_back(text_cell(r.status));
    t.rows.push_back(row);
  }
  return t;
}

std::string format_results_table(const std::vector<RunRecord>& runs) {
  Table t = results_table(runs);
  t.title.clear();
  return to_markdown(t);
}

std::string format_results_table(const std::vector<json>& runs) {
  std::vector<RunRecord> records;
  for (const auto& m : runs) {
    RunRecord r;
    r.metrics = m;
    const json run = m.value("run", json::object());
    r.task = run.value("task", "");
    r.protocol = run.value("protocol", "");
    r.model = run.value("model", "");
    r.method = run.value("method", "");
    r.label = run.value("label", "");
    r.status = m.value("status", "");
    r.device = m.value("device", "");
    const json n = m.value("n_samples", json::object());
    r.scored = n.value("scored", size_t{0});
    r.selected = n.value("selected", size_t{0});
    const json kv = m.value("kv", json::object());
    if (kv.contains("budget_total")) r.budget_tokens = kv["budget_total"].value("mean", 0.0);
    records.push_back(r);
  }
  return format_results_table(records);
}

}  // namespace kvbench
