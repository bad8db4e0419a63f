// SPDX-License-Identifier: Apache-2.0
// KV accounting plumbing on synthetic snapshots: the per-sample record (per-step differences of the
// cumulative counters, hit rates, layer budgets and their means, optional per-step arrays), its
// aggregation into metrics.json (numbers in nested objects aggregated, lists skipped) and the
// results table's tokens-attended and GPU-bytes columns.
#include "harness/run/aggregate.h"
#include "harness/engine/kv_accounting.h"
#include "reports/results_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kvbench {
namespace {

using nlohmann::json;

KVMemory snapshot(double attended, int64_t h2d, int64_t hits, int64_t lookups, int64_t device) {
  KVMemory m;
  m.tokens_attended = attended;
  m.host_to_device_bytes = h2d;
  m.cache_hits = hits;
  m.cache_lookups = lookups;
  m.device_bytes = device;
  m.kv_device_bytes = device - 100;
  m.metadata_device_bytes = 100;
  m.host_bytes = 5000;
  m.peak_device_bytes = device + 7;
  return m;
}

GenerateResult synthetic() {
  GenerateResult r;
  r.kv_after_prefill = snapshot(64, 1000, 0, 0, 900);
  r.kv_steps = {snapshot(10, 1300, 2, 4, 910), snapshot(12, 1400, 5, 8, 920), snapshot(14, 2000, 5, 8, 930)};
  r.kv = r.kv_steps.back();
  r.kv.layer_budgets = {{4, 16, 0, 32, 3}, {4, 16, 8, 64, 3}};
  r.decode_ms = {1, 1, 1};
  return r;
}

TEST(KVAccounting, RecordDerivesPerStepFiguresFromCumulativeCounters) {
  json rec = kv_accounting_record(synthetic(), /*per_step=*/false);
  EXPECT_DOUBLE_EQ(rec["tokens_attended"].get<double>(), 14);
  EXPECT_DOUBLE_EQ(rec["tokens_attended_mean"].get<double>(), 12);
  EXPECT_EQ(rec["device_bytes_total"], 930);
  EXPECT_EQ(rec["kv_row_device_bytes"], 830);
  EXPECT_EQ(rec["metadata_device_bytes"], 100);
  EXPECT_EQ(rec["peak_device_bytes_total"], 937);
  EXPECT_EQ(rec["host_bytes_total"], 5000);
  EXPECT_EQ(rec["host_to_device_bytes"], 2000);
  EXPECT_EQ(rec["host_to_device_bytes_prefill"], 1000);
  EXPECT_DOUBLE_EQ(rec["host_to_device_bytes_per_step_mean"].get<double>(), 1000.0 / 3);  // 300, 100, 600
  EXPECT_EQ(rec["host_to_device_bytes_per_step_max"], 600);
  EXPECT_EQ(rec["cache_hits"], 5);
  EXPECT_EQ(rec["cache_lookups"], 8);
  EXPECT_DOUBLE_EQ(rec["cache_hit_rate"].get<double>(), 5.0 / 8);
  EXPECT_EQ(rec["layer_budgets"]["sink"], json({4, 4}));
  EXPECT_EQ(rec["layer_budgets"]["outliers"], json({0, 8}));
  EXPECT_EQ(rec["layer_budgets"]["selected"], json({32, 64}));
  EXPECT_EQ(rec["layer_budgets"]["total"], json({55, 95}));
  EXPECT_DOUBLE_EQ(rec["budget_selected"].get<double>(), 48);
  EXPECT_DOUBLE_EQ(rec["budget_outliers"].get<double>(), 4);
  EXPECT_DOUBLE_EQ(rec["budget_total"].get<double>(), 75);
  EXPECT_FALSE(rec.contains("steps"));

  json steps = kv_accounting_record(synthetic(), /*per_step=*/true)["steps"];
  EXPECT_EQ(steps["tokens_attended"], json({10.0, 12.0, 14.0}));
  EXPECT_EQ(steps["host_to_device_bytes"], json({300, 100, 600}));
  EXPECT_EQ(steps["device_bytes_total"], json({910, 920, 930}));
  EXPECT_EQ(steps["cache_hit_rate"], json({0.5, 0.75, nullptr}));  // the last step looked nothing up
}

TEST(KVAccounting, NoDecodeStepsNoLookupsNoBudgets) {
  GenerateResult r;
  r.kv_after_prefill = snapshot(64, 0, 0, 0, 900);
  r.kv = r.kv_after_prefill;
  json rec = kv_accounting_record(r, true);
  EXPECT_DOUBLE_EQ(rec["tokens_attended"].get<double>(), 64);
  EXPECT_TRUE(rec["tokens_attended_mean"].is_null());
  EXPECT_TRUE(rec["host_to_device_bytes_per_step_mean"].is_null());
  EXPECT_TRUE(rec["cache_hit_rate"].is_null());
  EXPECT_FALSE(rec.contains("layer_budgets"));
  EXPECT_FALSE(rec.contains("budget_total"));
  EXPECT_EQ(rec["steps"]["tokens_attended"], json::array());
}

TEST(KVAccounting, MetricsAggregateNumbersSkipListsAndFeedTheTable) {
  json a = kv_accounting_record(synthetic(), true);
  GenerateResult other = synthetic();
  other.kv.layer_budgets = {{0, 0, 0, 16, 1}, {0, 0, 0, 16, 1}};
  other.kv.device_bytes = 3 * 1024 * 1024;
  json b = kv_accounting_record(other, true);
  b["method_counters"] = {{"evictions", 4}, {"per_layer", {1, 2}}};
  const std::map<std::string, json> rows = {{"s0", {{"scores", {{"acc", 1.0}}}, {"kv", a}}},
                                            {"s1", {{"scores", {{"acc", 0.0}}}, {"kv", b}}}};
  json metrics = aggregate_samples({"s0", "s1"}, rows);
  const json& kv = metrics["kv"];
  EXPECT_DOUBLE_EQ(kv["budget_selected"]["mean"].get<double>(), (48.0 + 16.0) / 2);
  EXPECT_DOUBLE_EQ(kv["budget_total"]["max"].get<double>(), 75);
  EXPECT_DOUBLE_EQ(kv["tokens_attended_mean"]["mean"].get<double>(), 12);
  EXPECT_DOUBLE_EQ(kv["cache_hit_rate"]["mean"].get<double>(), 5.0 / 8);
  EXPECT_DOUBLE_EQ(kv["method_counters.evictions"]["mean"].get<double>(), 4);  // one sample has it
  for (const auto& [key, unused] : kv.items()) {
    EXPECT_THAT(key, ::testing::Not(::testing::HasSubstr("layer_budgets"))) << "lists are not aggregated";
    EXPECT_THAT(key, ::testing::Not(::testing::HasSubstr("steps")));
    EXPECT_THAT(key, ::testing::Not(::testing::HasSubstr("per_layer")));
  }

  metrics["run"] = {{"label", "t/p/m/x/default"}, {"task", "t"}, {"method", "x"}};
  metrics["status"] = "complete";
  json bare = metrics;
  bare.erase("kv");
  const std::string table = format_results_table({metrics, bare});
  EXPECT_THAT(table, ::testing::HasSubstr("tokens attended"));
  EXPECT_THAT(table, ::testing::HasSubstr("KV+meta MiB on unknown device"));  // no device recorded here
  EXPECT_THAT(table, ::testing::HasSubstr("| 12.0 "));  // mean tokens attended per decode step
  // device bytes: mean of 930 B and 3 MiB.
  char mib[32];
  std::snprintf(mib, sizeof mib, "| %.2f ", (930.0 + 3 * 1024 * 1024) / 2 / (1024.0 * 1024.0));
  EXPECT_THAT(table, ::testing::HasSubstr(mib));
  EXPECT_THAT(table, ::testing::HasSubstr("| - "));  // a run without kv accounting
}

}  // namespace
}  // namespace kvbench
