// SPDX-License-Identifier: Apache-2.0
// The run config schema and its resolution: one sweep cell's document -> a validated, fully
// defaulted JSON object (`resolved`), with method and task params checked against the registered
// components' ParamSpecs. Layering: built-in defaults (the specs below) < files < --set.
//
// Schema (every section optional except task.name; model.path is required to run):
//   model:      path, name (label; default: basename of path), dtype, device, max_context,
//               max_weight_bytes (harness/model/weight_memory.h)
//   method:     name (registered KV method, default "full"), params (the method's ParamSpecs)
//   task:       name, protocol (default: the task's), params, limit, ids, data_root,
//               on_malformed (error | skip; see TaskContext in harness/task/task.h)
//   generation: max_new_tokens (null: the task's), stop, stop_token_ids, prefill_chunk
//   output:     dir, per_step_accounting (per-decode-step KV arrays in samples.jsonl)
//   seed
// String values of model.path, output.dir and task.data_root expand ${VAR} and ${VAR:-default}
// (KVBENCH_CACHE defaults to ~/.cache/kvbench).
#pragma once

#include "harness/config_document.h"
#include "harness/params.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kvbench {

struct RunConfig {
  nlohmann::json resolved;                          // the validated config of one run
  nlohmann::json axes = nlohmann::json::object();   // this sweep cell's values (empty: no sweep)
};

// The built-in defaults and bounds of each top-level section (the README's config schema).
const std::vector<std::pair<std::string, ParamSpecs>>& config_sections();

// Validates one document (no sweep section) into a RunConfig. kConfig errors name file:line:col.
RunConfig resolve_run_config(const ConfigDocument& document);

// Loads CONFIG, applies --set overrides (to every cell), expands the sweep and resolves each cell.
std::vector<RunConfig> load_runs(const std::string& config_path,
                                 const std::vector<std::string>& overrides);

// Readable run path "task/protocol/model/method/budget" (budget from the method's budget params).
std::string run_label(const nlohmann::json& resolved);

// The part of the config that identifies the results: everything except where results are written
// (output.dir), what is recorded (output.per_step_accounting), whether it may start
// (model.max_weight_bytes) and which samples are selected
// (task.limit, task.ids): the same run extended to more
// samples resumes in the same directory.
// `model_structure_sha256` (model_identity.h), when not empty, replaces model.path: a moved model
// folder keeps its runs' hashes.
nlohmann::json identity_config(const nlohmann::json& resolved, const std::string& model_structure_sha256 = "");

// First 8 hex digits of sha256(canonical identity config + dataset sha256).
std::string run_hash(const nlohmann::json& resolved, const std::string& dataset_sha256,
                     const std::string& model_structure_sha256 = "");

// Canonical JSON text: sorted keys, no whitespace, shortest round-trip numbers.
std::string canonical_json(const nlohmann::json& value);

std::string expand_env(const std::string& text);

}  // namespace kvbench
