// SPDX-License-Identifier: Apache-2.0
#include "reports/compare.h"

#include "harness/error.h"
#include "reports/bootstrap.h"
#include "reports/rank_test.h"
#include "reports/stats.h"
#include "reports/table.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace kvbench {
namespace {

using nlohmann::json;

std::string cell_key(const RunRecord& r) {
  return r.task + " | " + r.protocol + " | " + r.model + " | " + r.method + " " + r.method_params;
}

struct Side {
  std::vector<const RunRecord*> runs;
  std::map<std::string, const json*> rows;  // id -> row (every recorded row, errors included)
};

std::map<std::string, Side> index_side(const std::vector<RunRecord>& runs, const char* which) {
  std::map<std::string, Side> out;
  for (const auto& run : runs) {
    Side& side = out[cell_key(run)];
    side.runs.push_back(&run);
    for (const auto& row : run.samples) {
      const std::string id = row["id"].get<std::string>();
      KVBENCH_CHECK_INPUT(side.rows.emplace(id, &row).second, which, ": sample id '", id,
                          "' appears in two runs of cell ", cell_key(run), " (", run.dir.string(), ")");
    }
  }
  return out;
}

bool is_error(const json& row) { return row.contains("error") && !row["error"].is_null(); }

double number_at(const json& row, const json::json_pointer& p) {
  return row.contains(p) && row[p].is_number() ? row[p].get<double>() : std::nan("");
}

std::string g4(double v) { return format_fixed(v, 4); }

}  // namespace

std::set<std::string> parse_fail_on(const std::string& list) {
  std::set<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string kind = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!kind.empty()) {
      KVBENCH_CHECK_KIND(ErrorKind::kUsage, kind == "accuracy" || kind == "latency" || kind == "memory",
                         "--fail-on: unknown kind '", kind, "' (known: accuracy, latency, memory)");
      out.insert(kind);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

CompareResult compare_runs(const std::vector<RunRecord>& base_runs, const std::vector<RunRecord>& new_runs,
                           const CompareOptions& options) {
  CompareResult result;
  const auto base = index_side(base_runs, "BASE");
  const auto cand = index_side(new_runs, "NEW");
  std::string md = "## kvbench compare\n\n";
  md += "alpha " + g4(options.alpha) + ", " + std::to_string(options.resamples) + " bootstrap resamples (seed " +
        std::to_string(options.seed) + "), failing on:";
  for (const auto& k : options.fail_on) md += " " + k;
  md += "\n\n| cell | kind | metric | base | new | difference | interval / test | verdict |\n"
        "|---|---|---|---:|---:|---:|---|---|\n";
  auto regress = [&](const std::string& kind, const std::string& cell, const std::string& what) {
    if (options.fail_on.count(kind)) result.regressions.push_back(cell + ": " + kind + ": " + what);
    return options.fail_on.count(kind) ? "**REGRESSED**" : "worse (not gated)";
  };
  for (const auto& [key, b] : base) {
    json cell = {{"cell", key}, {"base_dirs", json::array()}, {"new_dirs", json::array()}};
    for (const auto* r : b.runs) cell["base_dirs"].push_back(r->dir.string());
    auto it = cand.find(key);
    if (it == cand.end()) {
      cell["verdict"] = "missing";
      // Always a failure, whatever --fail-on says: a gate must not pass because a run vanished.
      md += "| " + key + " | - | - | - | - | - | absent from NEW | **MISSING** |\n";
      result.regressions.push_back(key + ": missing: no run in NEW");
      result.cells.push_back(cell);
      continue;
    }
    const Side& n = it->second;
    for (const auto* r : n.runs) cell["new_dirs"].push_back(r->dir.string());
    // Pairs: same id, same prompt hash, scored on both sides.
    std::vector<std::pair<const json*, const json*>> pairs;
    size_t prompt_mismatch = 0, new_errors = 0, unpaired = 0, same_prompt = 0;
    for (const auto& [id, brow] : b.rows) {
      auto nit = n.rows.find(id);
      if (nit == n.rows.end()) {
        ++unpaired;
        continue;
      }
      const json& nrow = *nit->second;
      if (brow->value("prompt_sha256", std::string()) != nrow.value("prompt_sha256", std::string())) {
        ++prompt_mismatch;
        continue;
      }
      ++same_prompt;
      if (is_error(*brow)) continue;
      if (is_error(nrow)) {
        ++new_errors;
        continue;
      }
      pairs.push_back({brow, &nrow});
    }
    cell["paired"] = pairs.size();
    cell["prompt_mismatch"] = prompt_mismatch;
    cell["unpaired"] = unpaired;
    cell["new_errors"] = new_errors;
    KVBENCH_CHECK_INPUT(same_prompt > 0 || b.rows.empty(), "cell ", key, ": no sample pairs (",
                        prompt_mismatch, " ids with a different prompt_sha256, ", unpaired,
                        " ids absent from NEW): BASE and NEW did not run the same prompts");
    if (new_errors > 0)
      md += "| " + key + " | accuracy | errors | 0 | " + std::to_string(new_errors) + " | | samples scored in BASE failed in NEW | " +
            regress("accuracy", key, std::to_string(new_errors) + " samples failed in NEW") + " |\n";

    // Accuracy.
    cell["accuracy"] = json::object();
    std::map<std::string, std::vector<double>> diffs, base_scores, new_scores;
    for (const auto& [brow, nrow] : pairs) {
      const json bs = brow->value("scores", json::object()), ns = nrow->value("scores", json::object());
      for (const auto& [name, v] : bs.items())
        if (v.is_number() && ns.contains(name) && ns[name].is_number()) {
          diffs[name].push_back(ns[name].get<double>() - v.get<double>());
          base_scores[name].push_back(v.get<double>());
          new_scores[name].push_back(ns[name].get<double>());
        }
    }
    for (const auto& [name, d] : diffs) {
      BootstrapInterval ci = paired_bootstrap(d, options.resamples, options.seed, options.alpha);
      double bm = mean_stderr(base_scores[name]).mean, nm = mean_stderr(new_scores[name]).mean;
      bool worse = ci.high < 0 && ci.mean < -options.accuracy_tolerance;
      cell["accuracy"][name] = {{"base_mean", bm}, {"new_mean", nm}, {"mean_difference", ci.mean},
                                {"ci_low", ci.low}, {"ci_high", ci.high}, {"n", d.size()}, {"regressed", worse}};
      std::string verdict = worse ? regress("accuracy", key, name + " dropped by " + g4(-ci.mean)) : "ok";
      md += "| " + key + " | accuracy | " + name + " | " + g4(bm) + " | " + g4(nm) + " | " + g4(ci.mean) + " | " +
            std::to_string(static_cast<int>(std::lround((1 - options.alpha) * 100))) + "% CI [" + g4(ci.low) +
            ", " + g4(ci.high) + "] (n=" + std::to_string(d.size()) + ") | " + verdict + " |\n";
    }

    // Latency.
    cell["latency"] = json::object();
    for (const char* field : {"ttft_ms", "tpot_ms"}) {
      std::vector<double> bl, nl;
      json::json_pointer p("/timing/" + std::string(field));
      for (const auto& [brow, nrow] : pairs) {
        double x = number_at(*brow, p), y = number_at(*nrow, p);
        if (!std::isnan(x) && !std::isnan(y)) bl.push_back(x), nl.push_back(y);
      }
      if (bl.empty()) continue;
      double bmed = median(bl), nmed = median(nl);
      double ratio = bmed > 0 ? nmed / bmed : std::nan("");
      RankTest test = mann_whitney_greater(nl, bl);
      bool worse = test.p_value < options.alpha && ratio > 1 + options.latency_tolerance;
      cell["latency"][field] = {{"base_median", bmed}, {"new_median", nmed}, {"ratio_of_medians", ratio},
                                {"mann_whitney_u", test.u}, {"p_value", test.p_value}, {"regressed", worse}};
      std::string verdict = worse ? regress("latency", key, std::string(field) + " medians x" + format_fixed(ratio, 3)) : "ok";
      md += "| " + key + " | latency | " + field + " median | " + format_fixed(bmed, 2) + " | " + format_fixed(nmed, 2) +
            " | x" + format_fixed(ratio, 3) + " | Mann-Whitney p=" + format_fixed(test.p_value, 4) + " | " + verdict + " |\n";
    }

    // Memory: exact numbers over the paired samples.
    cell["memory"] = json::object();
    struct MemoryField {
      const char* name;
      const char* pointer;
      bool peak;
    };
    for (const MemoryField& f : {MemoryField{"peak_device_bytes_total", "/kv/peak_device_bytes_total", true},
                                 MemoryField{"kv_row_device_bytes", "/kv/kv_row_device_bytes", false},
                                 MemoryField{"host_bytes_total", "/kv/host_bytes_total", false},
                                 MemoryField{"host_to_device_bytes_per_step", "/kv/host_to_device_bytes_per_step_mean", false}}) {
      std::vector<double> bv, nv;
      json::json_pointer p(f.pointer);
      for (const auto& [brow, nrow] : pairs) {
        double x = number_at(*brow, p), y = number_at(*nrow, p);
        if (!std::isnan(x) && !std::isnan(y)) bv.push_back(x), nv.push_back(y);
      }
      if (bv.empty()) continue;
      double bval = f.peak ? *std::max_element(bv.begin(), bv.end()) : mean_stderr(bv).mean;
      double nval = f.peak ? *std::max_element(nv.begin(), nv.end()) : mean_stderr(nv).mean;
      bool worse = nval > bval * (1 + options.memory_tolerance);
      cell["memory"][f.name] = {{"base", bval}, {"new", nval}, {"difference", nval - bval}, {"regressed", worse}};
      std::string verdict = worse ? regress("memory", key, std::string(f.name) + " grew by " + format_exact(nval - bval) + " bytes") : "ok";
      md += "| " + key + " | memory | " + f.name + (f.peak ? " (max)" : " (mean)") + " | " + format_exact(bval) + " | " +
            format_exact(nval) + " | " + format_exact(nval - bval) + " | exact | " + verdict + " |\n";
    }
    result.cells.push_back(cell);
  }
  for (const auto& [key, n] : cand)
    if (!base.count(key)) md += "| " + key + " | - | - | - | - | - | only in NEW (not compared) | - |\n";
  md += "\n" + (result.regressions.empty() ? std::string("**No regression.**\n")
                                           : "**" + std::to_string(result.regressions.size()) + " regression(s):**\n");
  for (const auto& r : result.regressions) md += "- " + r + "\n";
  result.markdown = md;
  return result;
}

}  // namespace kvbench
