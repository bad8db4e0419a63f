// SPDX-License-Identifier: Apache-2.0
#include "reports/result_grid.h"

#include "harness/error.h"
#include "reports/table.h"

#include <algorithm>
#include <set>

namespace kvbench {
namespace {

using nlohmann::json;

int status_rank(const std::string& status) {
  if (status == "failed") return 5;
  if (status == "incomplete") return 4;
  if (status == "running") return 3;
  if (status == "partial") return 2;
  return 0;
}

std::string field_value(const RunRecord& r, const std::string& field) {
  if (field == "model") return r.model;
  if (field == "method") return r.method;
  if (field == "budget") return r.method_params;
  if (field == "protocol") return r.protocol;
  if (field == "device") return r.device;
  return r.task;
}

double nan_mean(const std::vector<double>& xs) {
  double sum = 0;
  size_t n = 0;
  for (double x : xs)
    if (!std::isnan(x)) sum += x, ++n;
  return n ? sum / static_cast<double>(n) : std::nan("");
}

std::string join(const std::set<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + (v.empty() ? std::string("(none)") : v);
  return out;
}

}  // namespace

const std::vector<std::string>& group_by_fields() {
  static const std::vector<std::string> fields = {"model", "method", "budget", "protocol", "device"};
  return fields;
}

std::vector<std::string> parse_group_by(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string field = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!field.empty()) {
      const auto& known = group_by_fields();
      KVBENCH_CHECK_KIND(ErrorKind::kUsage, std::find(known.begin(), known.end(), field) != known.end(),
                         "--group-by: unknown field '", field, "' (known: model, method, budget, protocol, device)");
      out.push_back(field);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  KVBENCH_CHECK_KIND(ErrorKind::kUsage, !out.empty(), "--group-by: give at least one field");
  return out;
}

std::vector<double> GridCell::scores(const std::string& score_name) const {
  std::vector<double> xs;
  for (const RunRecord* run : runs)
    for (const json* row : run->scored_rows()) {
      const json& scores = (*row).contains("scores") ? (*row)["scores"] : json::object();
      if (scores.contains(score_name) && scores[score_name].is_number())
        xs.push_back(scores[score_name].get<double>());
    }
  return xs;
}

const GridCell* ResultGrid::cell(size_t row, const std::string& task) const {
  auto it = cells.find({row, task});
  return it == cells.end() ? nullptr : &it->second;
}

long ResultGrid::reference_row(size_t row) const {
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!rows[r].full_cache) continue;
    bool same = true;
    for (size_t f = 0; f < group_by.size(); ++f)
      if (group_by[f] != "method" && group_by[f] != "budget" && rows[r].key[f] != rows[row].key[f]) same = false;
    if (same) return static_cast<long>(r);
  }
  return -1;
}

ResultGrid build_grid(const std::vector<RunRecord>& runs, const std::vector<std::string>& group_by,
                      bool allow_mixed) {
  ResultGrid grid;
  grid.group_by = group_by;
  std::map<std::vector<std::string>, size_t> row_of;
  std::map<size_t, std::vector<const RunRecord*>> runs_of_row;
  std::set<std::string> tasks;
  for (const auto& run : runs) {
    std::vector<std::string> key;
    for (const auto& f : group_by) key.push_back(field_value(run, f));
    auto [it, inserted] = row_of.emplace(key, grid.rows.size());
    if (inserted) {
      GridRow row;
      row.key = key;
      for (size_t f = 0; f < group_by.size(); ++f) {
        if (group_by[f] == "model") row.model = key[f];
        if (group_by[f] == "method") row.method = key[f];
      }
      row.full_cache = row.method == "full";
      grid.rows.push_back(row);
    }
    runs_of_row[it->second].push_back(&run);
    grid.cells[{it->second, run.task}].runs.push_back(&run);
    tasks.insert(run.task);
    grid.task_scores[run.task];  // a task no run scored still gets its (flagged) column
    for (const auto& [name, unused] : section(run.metrics, "scores").items())
      grid.task_scores[run.task].push_back(name);
  }
  for (auto& [task, names] : grid.task_scores) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
  }
  grid.tasks.assign(tasks.begin(), tasks.end());

  for (size_t r = 0; r < grid.rows.size(); ++r) {
    std::vector<double> tokens, percents;
    for (const RunRecord* run : runs_of_row[r]) {
      tokens.push_back(run->budget_tokens);
      percents.push_back(run->budget_percent);
    }
    grid.rows[r].budget_tokens = nan_mean(tokens);
    grid.rows[r].budget_percent = nan_mean(percents);
  }
  // Stable, readable order: model, then the full cache first, then method, then budget descending.
  std::vector<size_t> order(grid.rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const GridRow &x = grid.rows[a], &y = grid.rows[b];
    if (x.model != y.model) return x.model < y.model;
    if (x.full_cache != y.full_cache) return x.full_cache;
    if (x.method != y.method) return x.method < y.method;
    double bx = std::isnan(x.budget_tokens) ? -1 : x.budget_tokens, by = std::isnan(y.budget_tokens) ? -1 : y.budget_tokens;
    if (bx != by) return bx > by;
    return x.key < y.key;
  });
  std::vector<GridRow> sorted_rows;
  std::map<size_t, size_t> new_index;
  for (size_t i = 0; i < order.size(); ++i) {
    sorted_rows.push_back(grid.rows[order[i]]);
    new_index[order[i]] = i;
  }
  std::map<std::pair<size_t, std::string>, GridCell> sorted_cells;
  for (auto& [key, cell] : grid.cells) sorted_cells[{new_index[key.first], key.second}] = std::move(cell);
  grid.rows = std::move(sorted_rows);
  grid.cells = std::move(sorted_cells);

  for (auto& [key, cell] : grid.cells) {
    std::set<std::string> protocols, hashes, versions;
    int worst = 0;
    for (const RunRecord* run : cell.runs) {
      protocols.insert(run->protocol);
      hashes.insert(run->dataset_sha256);
      versions.insert(run->kvbench_version);
      if (status_rank(run->status) > worst) {
        worst = status_rank(run->status);
        cell.flag = run->status;
      }
    }
    std::string what;
    if (protocols.size() > 1) what += " protocols {" + join(protocols) + "}";
    if (hashes.size() > 1) what += " dataset hashes {" + join(hashes) + "}";
    if (versions.size() > 1) what += " kvbench versions {" + join(versions) + "}";
    if (what.empty()) continue;
    std::string where = "cell (" ;
    for (size_t f = 0; f < group_by.size(); ++f) where += (f ? ", " : "") + group_by[f] + "=" + grid.rows[key.first].key[f];
    where += ", task=" + key.second + ") mixes" + what + " (runs: " + cell.runs.front()->dir.string() + " ...)";
    KVBENCH_CHECK_INPUT(allow_mixed, where, "; pass --allow-mixed to pool them anyway");
    grid.notes.push_back("mixed (--allow-mixed): " + where);
    if (cell.flag.empty()) cell.flag = "mixed";
  }
  return grid;
}

std::string budget_text(const GridRow& row) {
  if (row.full_cache) return "full";
  if (std::isnan(row.budget_tokens)) return "-";
  return format_fixed(row.budget_tokens, 0) + " tok" +
         (std::isnan(row.budget_percent) ? "" : " (" + format_fixed(row.budget_percent, 1) + "%)");
}

std::string budget_text(const RunRecord& run) {
  if (run.method == "full") return "full";
  if (std::isnan(run.budget_tokens)) return "-";
  return format_fixed(run.budget_tokens, 0) + " tok" +
         (std::isnan(run.budget_percent) ? "" : " (" + format_fixed(run.budget_percent, 1) + "%)");
}

}  // namespace kvbench
