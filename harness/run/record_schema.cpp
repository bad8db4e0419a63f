// SPDX-License-Identifier: Apache-2.0
#include "harness/run/record_schema.h"

namespace kvbench {
namespace {

using nlohmann::json;

void rename_field(json& object, const char* from, const char* to) {
  if (!object.is_object() || !object.contains(from)) return;
  object[to] = std::move(object[from]);
  object.erase(from);
}

// Version 1 -> 2 renames of the `memory` and `kv` objects (samples) and of their aggregates.
void rename_v1_fields(json& record) {
  if (record.contains("memory")) {
    json& memory = record["memory"];
    rename_field(memory, "kv_device_bytes", "device_bytes_total");
    rename_field(memory, "kv_host_bytes", "host_bytes_total");
    rename_field(memory, "kv_peak_device_bytes", "peak_device_bytes_total");
  }
  if (record.contains("kv")) {
    json& kv = record["kv"];
    rename_field(kv, "kv_device_bytes", "kv_row_device_bytes");
    rename_field(kv, "device_bytes", "device_bytes_total");
    rename_field(kv, "peak_device_bytes", "peak_device_bytes_total");
    rename_field(kv, "host_bytes", "host_bytes_total");
    if (kv.contains("steps")) rename_field(kv["steps"], "device_bytes", "device_bytes_total");
  }
}

void upgrade(json& record) {
  if (!record.is_object() || record_schema_version(record) >= kRecordSchemaVersion) return;
  rename_v1_fields(record);
  record["schema_version"] = kRecordSchemaVersion;
}

}  // namespace

int record_schema_version(const json& record) {
  if (record.is_object() && record.contains("schema_version") && record["schema_version"].is_number_integer())
    return record["schema_version"].get<int>();
  return 1;
}

void upgrade_sample_row(json& row) { upgrade(row); }

void upgrade_metrics(json& metrics) { upgrade(metrics); }

}  // namespace kvbench
