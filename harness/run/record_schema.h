// SPDX-License-Identifier: Apache-2.0
// The version of the run records (samples.jsonl rows, metrics.json, run.json) and the upgrade of
// older rows to it, so readers of run directories (reports/, rescore) see one set of field names.
// Version history (README "Run directories and output schema"):
//   1 (no `schema_version` field): memory.kv_device_bytes held KV rows + metadata while
//     kv.kv_device_bytes held KV rows only; memory.kv_host_bytes, memory.kv_peak_device_bytes,
//     kv.device_bytes, kv.peak_device_bytes, kv.host_bytes, kv.steps.device_bytes.
//   2: one name, one meaning in both objects: device_bytes_total (KV rows + metadata),
//     kv_row_device_bytes (KV rows only), peak_device_bytes_total, host_bytes_total.
#pragma once

#include <nlohmann/json.hpp>

namespace kvbench {

inline constexpr int kRecordSchemaVersion = 2;

// The schema version of a record: its `schema_version` field, 1 when absent.
int record_schema_version(const nlohmann::json& record);

// Rewrites a samples.jsonl row of an older schema in place to kRecordSchemaVersion (renamed
// fields moved, `schema_version` set). Rows already current are left unchanged.
void upgrade_sample_row(nlohmann::json& row);

// The same for a metrics.json document: its `memory` and `kv` aggregates ({field: {mean, max}})
// are renamed like the sample fields they summarize.
void upgrade_metrics(nlohmann::json& metrics);

}  // namespace kvbench
