// SPDX-License-Identifier: Apache-2.0
// The record schema: version-1 rows and metrics upgrade to today's names (and nothing else changes),
// current records are left alone, and the README's "Run directories and output schema" section names
// every field the kv record writes (so the documented schema cannot drift from the records).
#include "harness/engine/kv_accounting.h"
#include "harness/run/record_schema.h"
#include "harness/source_dir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace kvbench {
namespace {

using nlohmann::json;

TEST(RecordSchema, Version1RowGetsTodaysNames) {
  json row = {{"id", "a"},
              {"memory", {{"kv_device_bytes", 930}, {"kv_host_bytes", 5}, {"kv_peak_device_bytes", 937},
                          {"peak_host_rss_bytes", 1}}},
              {"kv", {{"device_bytes", 930}, {"kv_device_bytes", 830}, {"metadata_device_bytes", 100},
                      {"peak_device_bytes", 937}, {"host_bytes", 5}, {"steps", {{"device_bytes", {1, 2}}}}}}};
  EXPECT_EQ(record_schema_version(row), 1);
  upgrade_sample_row(row);
  EXPECT_EQ(record_schema_version(row), kRecordSchemaVersion);
  EXPECT_EQ(row["memory"], json({{"device_bytes_total", 930}, {"host_bytes_total", 5},
                                 {"peak_device_bytes_total", 937}, {"peak_host_rss_bytes", 1}}));
  EXPECT_EQ(row["kv"], json({{"device_bytes_total", 930}, {"kv_row_device_bytes", 830},
                             {"metadata_device_bytes", 100}, {"peak_device_bytes_total", 937},
                             {"host_bytes_total", 5}, {"steps", {{"device_bytes_total", {1, 2}}}}}));
  EXPECT_EQ(row["id"], "a");
}

TEST(RecordSchema, CurrentRecordsAreLeftAlone) {
  // A current row may have a field named like an old one in a method's own stats: never renamed.
  json row = {{"schema_version", kRecordSchemaVersion}, {"kv", {{"kv_device_bytes", 1}}}};
  const json before = row;
  upgrade_sample_row(row);
  EXPECT_EQ(row, before);
}

TEST(RecordSchema, Version1MetricsAggregatesGetTodaysNames) {
  json metrics = {{"kv", {{"kv_device_bytes", {{"mean", 2}, {"max", 3}}}}},
                  {"memory", {{"kv_peak_device_bytes", {{"mean", 4}, {"max", 5}}}}}};
  upgrade_metrics(metrics);
  EXPECT_EQ(metrics["kv"]["kv_row_device_bytes"]["max"], 3);
  EXPECT_EQ(metrics["memory"]["peak_device_bytes_total"]["mean"], 4);
  EXPECT_FALSE(metrics["kv"].contains("kv_device_bytes"));
  EXPECT_EQ(metrics["schema_version"], kRecordSchemaVersion);
}

// Every key of a fully populated kv record appears in backquotes in the README's output-schema
// section (between "## Run directories and output schema" and the next "## ").
TEST(RecordSchema, ReadmeNamesEveryKvRecordField) {
  std::ifstream in(source_dir() + "/README.md");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  const size_t begin = readme.find("## Run directories and output schema");
  ASSERT_NE(begin, std::string::npos);
  const std::string section = readme.substr(begin, readme.find("\n## ", begin + 1) - begin);

  GenerateResult r;
  r.kv_after_prefill.tokens_attended = 4;
  KVMemory step;
  step.layer_budgets = {LayerBudget{1, 2, 3, 4, 5}};
  r.kv_steps = {step};
  r.kv = step;
  json record = kv_accounting_record(r, /*per_step=*/true);
  std::set<std::string> keys;
  for (const auto& [key, value] : record.items()) {
    keys.insert(key);
    if (key == "steps" || key == "layer_budgets")
      for (const auto& [inner, unused] : value.items()) keys.insert(inner);
  }
  EXPECT_GT(keys.size(), 20u);
  for (const auto& key : keys) {
    // budget_<role> fields are documented as `budget_sink` ... `budget_total`.
    if (key.rfind("budget_", 0) == 0 && key != "budget_sink" && key != "budget_total") continue;
    EXPECT_NE(section.find("`" + key + "`"), std::string::npos) << "README does not document kv." << key;
  }
}

}  // namespace
}  // namespace kvbench
