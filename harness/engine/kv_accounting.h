// SPDX-License-Identifier: Apache-2.0
// The per-sample KV accounting record (samples.jsonl "kv"), derived from the memory snapshots that
// generate() takes after prefill and after every decode step (KVMemory in harness/kv/method.h).
// Scalars are flat numbers so metrics.json aggregates them (harness/run/aggregate.cpp); lists are kept
// for reading, not aggregated. Field meanings: docs in kv_accounting.cpp.
#pragma once

#include "harness/model/generate.h"

#include <nlohmann/json.hpp>

namespace kvbench {

// `per_step`: also record per-decode-step arrays under "steps" (output.per_step_accounting).
nlohmann::json kv_accounting_record(const GenerateResult& result, bool per_step);

}  // namespace kvbench
