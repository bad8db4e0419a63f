// SPDX-License-Identifier: Apache-2.0
#include "harness/run/run_config.h"

#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/registry.h"
#include "harness/source_dir.h"
#include "harness/run/sweep.h"

#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace kvbench {
namespace {

using nlohmann::json;

const std::vector<std::string> kTopLevelKeys = {"model",  "method", "task", "generation",
                                                "output", "seed",   "sweep", "include"};

ParamSpec spec(std::string name, ParamType type, json def, std::string help) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_value = std::move(def);
  s.help = std::move(help);
  return s;
}

ParamSpecs model_specs() {
  ParamSpec dtype = spec("dtype", ParamType::kString, "bfloat16", "compute dtype");
  dtype.choices = {"float32", "bfloat16", "float16"};
  ParamSpec max_context = spec("max_context", ParamType::kInt, nullptr,
                               "longest prompt+generation in tokens (null: the model's maximum)");
  max_context.min = 1;
  max_context.nullable = true;
  ParamSpec max_weight_bytes = spec("max_weight_bytes", ParamType::kInt, nullptr,
                                    "memory the weights may take in model.dtype on model.device; a larger "
                                    "model fails the run as out of memory before loading (null: no limit)");
  max_weight_bytes.min = 0;
  max_weight_bytes.nullable = true;
  return {spec("path", ParamType::kString, nullptr, "Hugging Face model folder"),
          spec("name", ParamType::kString, nullptr, "label in run paths (default: folder name)"),
          dtype,
          spec("device", ParamType::kString, "auto", "auto | cpu | cuda | cuda:N"),
          max_context, max_weight_bytes};
}

ParamSpecs method_specs() {
  return {spec("name", ParamType::kString, "full", "registered KV method (kvbench list methods)"),
          spec("params", ParamType::kObject, json::object(), "the method's parameters")};
}

ParamSpecs task_specs() {
  ParamSpec name = spec("name", ParamType::kString, nullptr, "registered task (kvbench list tasks)");
  name.required = true;
  ParamSpec limit = spec("limit", ParamType::kInt, nullptr, "first N samples (null: all)");
  limit.min = 1;
  limit.nullable = true;
  ParamSpec on_malformed = spec("on_malformed", ParamType::kString, "error",
                                "malformed data record (bad JSON line, missing field, wrong type): "
                                "error fails naming file:line and field; skip drops and counts it");
  on_malformed.choices = {"error", "skip"};
  return {name,
          spec("protocol", ParamType::kString, nullptr, "protocol variant (null: the task's default)"),
          spec("params", ParamType::kObject, json::object(), "the task's parameters"),
          limit,
          spec("ids", ParamType::kStringList, json::array(), "only these sample ids (empty: all)"),
          spec("data_root", ParamType::kString, "${KVBENCH_DATA_DIR:-" + source_dir() + "/../shared/data}",
               "folder with the offline data"),
          on_malformed};
}

ParamSpecs generation_specs() {
  ParamSpec max_new = spec("max_new_tokens", ParamType::kInt, nullptr,
                           "generated tokens at most (null: the task's per-sample value)");
  max_new.min = 1;
  max_new.nullable = true;
  ParamSpec chunk = spec("prefill_chunk", ParamType::kInt, 0, "prefill chunk in tokens (0: whole)");
  chunk.min = 0;
  ParamSpec stop_ids = spec("stop_token_ids", ParamType::kIntList, json::array(),
                            "extra stop token ids (besides the model's EOS)");
  stop_ids.min = 0;
  ParamSpec batch = spec("batch_size", ParamType::kInt, 1,
                         "samples generated together, left-padded (methods with padded-batch support; "
                         "not in the hash)");
  batch.min = 1;
  ParamSpec shared = spec("shared_prefill", ParamType::kBool, true,
                          "in a sweep, compute the exact prefill of a sample once and replay it into every "
                          "cell of the same model, task and prefill_chunk whose method starts from exact "
                          "prefill (results unchanged; not in the hash)");
  return {max_new, spec("stop", ParamType::kStringList, json::array(), "extra stop strings"),
          stop_ids, chunk, batch, shared};
}

ParamSpecs output_specs() {
  ParamSpec groups = spec("sample_groups", ParamType::kInt, 1,
                          "split the run's samples into this many work units for --shard/--workers/slurm "
                          "(1: the run is one unit; not in the hash)");
  groups.min = 1;
  return {spec("dir", ParamType::kString, "runs", "root of the run directories"),
          spec("per_step_accounting", ParamType::kBool, false,
               "also record per-decode-step KV accounting arrays in samples.jsonl (kv.steps)"),
          groups};
}

const CatalogEntry& find_component(const std::string& kind, const std::string& name,
                                   const std::string& key_path, const ConfigDocument& doc) {
  const auto& by_name = catalog()[kind];
  auto it = by_name.find(name);
  if (it != by_name.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& kv : by_name) names.push_back(kv.first);
  std::string hint = closest_match(name, names);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  KVBENCH_FAIL(ErrorKind::kConfig, doc.locate(key_path), ": ", key_path, ": unknown ", kind, " '",
               name, "'", hint.empty() ? "" : str_cat(" (did you mean '", hint, "'?)"),
               "; available: ", known.empty() ? "(none in this build)" : known);
}

std::string format_number(const json& v) {
  if (v.is_number_float()) {
    std::ostringstream out;
    out << std::setprecision(6) << v.get<double>();
    return out.str();
  }
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

std::string expand_env(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "${") == 0) {
      size_t end = text.find('}', i);
      KVBENCH_CHECK_CONFIG(end != std::string::npos, "unterminated ${ in '", text, "'");
      std::string body = text.substr(i + 2, end - i - 2);
      std::string name = body, fallback;
      size_t dash = body.find(":-");
      if (dash != std::string::npos) name = body.substr(0, dash), fallback = body.substr(dash + 2);
      const char* value = std::getenv(name.c_str());
      if (value && *value) {
        out += value;
      } else if (name == "KVBENCH_CACHE" && dash == std::string::npos) {
        const char* home = std::getenv("HOME");
        out += std::string(home ? home : ".") + "/.cache/kvbench";
      } else {
        KVBENCH_CHECK_CONFIG(dash != std::string::npos, "environment variable ", name,
                             " is not set (used in '", text, "')");
        out += expand_env(fallback);
      }
      i = end + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

const std::vector<std::pair<std::string, ParamSpecs>>& config_sections() {
  static const std::vector<std::pair<std::string, ParamSpecs>> sections = {
      {"model", model_specs()},           {"method", method_specs()},
      {"task", task_specs()},             {"generation", generation_specs()},
      {"output", output_specs()}};
  return sections;
}

RunConfig resolve_run_config(const ConfigDocument& doc) {
  LocateFn locate = [&doc](const std::string& path) { return doc.locate(path); };
  for (const auto& [key, unused] : doc.value.items()) {
    if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), key) != kTopLevelKeys.end()) continue;
    std::string hint = closest_match(key, kTopLevelKeys);
    KVBENCH_FAIL(ErrorKind::kConfig, doc.locate(key), ": unknown key '", key, "'",
                 hint.empty() ? "" : str_cat(" (did you mean '", hint, "'?)"),
                 "; known keys: model, method, task, generation, output, seed, sweep, include");
  }
  KVBENCH_CHECK_CONFIG(doc.value.contains("task"), doc.locate(""),
                       ": task: required (e.g. task: {name: niah.classic})");
  json resolved = json::object();
  for (const auto& [section, specs] : config_sections()) {
    json given = doc.value.contains(section) ? doc.value[section] : json();
    resolved[section] = resolve_params(specs, given, section, locate);
  }
  json seed = doc.value.contains("seed") ? doc.value["seed"] : json(0);
  KVBENCH_CHECK_CONFIG(seed.is_number_integer() && seed.get<int64_t>() >= 0, doc.locate("seed"),
                       ": seed: expected a non-negative integer, got ", seed.dump());
  resolved["seed"] = seed;

  for (const char* key : {"model.path", "output.dir", "task.data_root"}) {
    json v = get_key_path(resolved, key);
    if (v.is_string()) {
      std::string section = std::string(key).substr(0, std::string(key).find('.'));
      resolved[section][std::string(key).substr(section.size() + 1)] = expand_env(v.get<std::string>());
    }
  }
  json& model = resolved["model"];
  if (model["name"].is_null() && model["path"].is_string())
    model["name"] = std::filesystem::path(model["path"].get<std::string>()).filename().string();

  // Method and task parameters against the registered components.
  json& method = resolved["method"];
  const CatalogEntry& method_entry =
      find_component("method", method["name"].get<std::string>(), "method.name", doc);
  method["params"] = resolve_params(method_entry.params, method["params"], "method.params", locate);
  const int64_t batch_size = resolved["generation"]["batch_size"].get<int64_t>();
  KVBENCH_CHECK_CONFIG(batch_size == 1 || method_entry.extra.value("padded_batches", false),
                       doc.locate("generation.batch_size"), ": generation.batch_size: ", batch_size,
                       ": method ", method["name"].get<std::string>(),
                       " does not support padded batches (batch_size 1 only; see `kvbench list methods`)");

  json& task = resolved["task"];
  const CatalogEntry& task_entry =
      find_component("task", task["name"].get<std::string>(), "task.name", doc);
  std::vector<std::string> protocols;
  if (task_entry.extra.contains("protocols"))
    protocols = task_entry.extra["protocols"].get<std::vector<std::string>>();
  if (task["protocol"].is_null()) {
    KVBENCH_ASSERT(task_entry.extra.contains("default_protocol"), "task ", task_entry.name,
                   " registers no default_protocol");
    task["protocol"] = task_entry.extra["default_protocol"];
  }
  std::string protocol = task["protocol"].get<std::string>();
  if (std::find(protocols.begin(), protocols.end(), protocol) == protocols.end()) {
    std::string hint = closest_match(protocol, protocols);
    std::string known;
    for (const auto& p : protocols) known += (known.empty() ? "" : ", ") + p;
    KVBENCH_FAIL(ErrorKind::kConfig, doc.locate("task.protocol"), ": task.protocol: '", protocol,
                 "' is not a protocol of task ", task_entry.name,
                 hint.empty() ? "" : str_cat(" (did you mean '", hint, "'?)"), "; available: ", known);
  }
  task["params"] = resolve_params(task_entry.params, task["params"], "task.params", locate);
  return RunConfig{resolved, json::object()};
}

std::vector<RunConfig> load_runs(const std::string& config_path,
                                 const std::vector<std::string>& overrides) {
  ConfigDocument doc = load_config_document(config_path);
  for (const auto& o : overrides) apply_override(doc, o);
  std::vector<RunConfig> runs;
  for (auto& cell : expand_sweep(doc)) {
    RunConfig run = resolve_run_config(cell.document);
    run.axes = cell.axes;
    runs.push_back(std::move(run));
  }
  return runs;
}

std::string run_label(const json& resolved) {
  const json& method = resolved["method"];
  std::string budget;
  const auto& methods = catalog()["method"];
  auto it = methods.find(method["name"].get<std::string>());
  if (it != methods.end() && it->second.extra.contains("budget_params")) {
    for (const auto& key : it->second.extra["budget_params"]) {
      const json& v = method["params"][key.get<std::string>()];
      if (v.is_null()) continue;
      budget += (budget.empty() ? "" : "_") + key.get<std::string>() + format_number(v);
    }
  }
  if (budget.empty()) budget = "default";
  auto clean = [](std::string s) {
    for (char& c : s)
      if (c == '/' || c == '\\' || c == ' ' || c == ':') c = '_';
    return s;
  };
  return clean(resolved["task"]["name"].get<std::string>()) + "/" +
         clean(resolved["task"]["protocol"].get<std::string>()) + "/" +
         clean(resolved["model"]["name"].is_string() ? resolved["model"]["name"].get<std::string>()
                                                     : "no-model") +
         "/" + clean(method["name"].get<std::string>()) + "/" + clean(budget);
}

json identity_config(const json& resolved, const std::string& model_structure_sha256) {
  json id = resolved;
  if (!model_structure_sha256.empty()) {
    id["model"].erase("path");
    id["model"]["structure_sha256"] = model_structure_sha256;
  }
  id["output"].erase("dir");
  id["output"].erase("per_step_accounting");  // what is recorded, not what is run
  id["output"].erase("sample_groups");        // how the work is split, not what is run
  id["model"].erase("max_weight_bytes");       // whether the run may start, not what it computes
  id["generation"].erase("batch_size");       // how samples are grouped, not what each computes
  id["generation"].erase("shared_prefill");   // who computes the exact prefill, not what it is
  id["task"].erase("limit");
  id["task"].erase("ids");
  id["task"].erase("data_root");
  return id;
}

std::string canonical_json(const json& value) {
  try {
    return value.dump();
  } catch (const json::type_error& e) {  // found by tests/fuzz: a YAML string with invalid UTF-8
    KVBENCH_FAIL(ErrorKind::kConfig, "config: a string value is not valid UTF-8 (", e.what(), ")");
  }
}

std::string run_hash(const json& resolved, const std::string& dataset_sha256, const std::string& model_structure_sha256) {
  return sha256_hex(canonical_json(identity_config(resolved, model_structure_sha256)) + "\n" + dataset_sha256)
      .substr(0, 8);
}

}  // namespace kvbench
