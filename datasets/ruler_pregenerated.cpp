// SPDX-License-Identifier: Apache-2.0
// ruler.pregenerated: RULER jsonl files made by scripts/data/prepare.py (or shipped pre-generated,
// e.g. KVCache-Factory data/RULER/<len>/<task>.jsonl), one sample per line in file order:
//   prompt     = input + answer_prefix (RULER call_api.py; older files have the prefix inside input
//                and no answer_prefix field), sent raw: the file already holds RULER's template;
//   references = outputs; id = index (must be unique);
//   budget     = tokens_to_generate of the task family (niah 128, vt 30, cwe 120, fwe 50, qa 32),
//                from the file name unless given; metric = string_match_part for qa_*, else
//                string_match_all (RULER eval/synthetic/constants.py).
// Required fields: index (integer), input (string), outputs (list of strings), length (integer);
// any other field is kept in the metadata. Errors name file:line and the field.
#include "datasets/jsonl_reader.h"
#include "harness/task/task.h"
#include "datasets/task_files.h"
#include "harness/error.h"
#include "harness/hashing.h"

#include <iostream>
#include <set>

namespace kvbench {
namespace {

// RULER task family of a file name stem ("niah_multikey_3" -> niah, "qa_1" -> qa, ...).
std::string family_of(const std::string& stem) {
  if (stem.rfind("niah", 0) == 0) return "niah";
  if (stem.rfind("qa", 0) == 0) return "qa";
  if (stem == "vt" || stem.rfind("variable_tracking", 0) == 0) return "vt";
  if (stem == "cwe" || stem.rfind("common_words", 0) == 0) return "cwe";
  if (stem == "fwe" || stem.rfind("freq_words", 0) == 0) return "fwe";
  return "";
}

int tokens_to_generate_of(const std::string& family) {
  if (family == "niah") return 128;
  if (family == "vt") return 30;
  if (family == "cwe") return 120;
  if (family == "fwe") return 50;
  return 32;  // qa
}

std::string file_stem(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  for (const char* ext : {".gz", ".jsonl", ".json"})
    if (name.size() > std::string(ext).size() && name.compare(name.size() - std::string(ext).size(),
                                                              std::string::npos, ext) == 0)
      name.resize(name.size() - std::string(ext).size());
  return name;
}

class RulerPregeneratedTask : public Task {
 public:
  explicit RulerPregeneratedTask(nlohmann::json params) : params_(std::move(params)) {}

  std::vector<Sample> samples(const TaskContext& context) override {
    const auto path = file(context);
    const std::string family = resolved_family(path);
    int budget = params_.at("tokens_to_generate").get<int>();
    if (budget == 0) budget = tokens_to_generate_of(family);
    JsonlReadResult read = read_jsonl(path, context);
    std::vector<Sample> out;
    std::set<int64_t> seen;
    for (const auto& record : read.records) {
      try {
        const std::string where = path.string() + ":" + std::to_string(record.line);
        const nlohmann::json& v = record.value;
        for (const char* field : {"index", "length"}) {
          KVBENCH_CHECK_INPUT(v.contains(field), where, ": missing field '", field, "'");
          KVBENCH_CHECK_INPUT(v[field].is_number_integer(), where, ": field '", field,
                              "' must be an integer, got ", v[field].type_name());
        }
        const std::string input = require_string(record, path, "input");
        KVBENCH_CHECK_INPUT(v.contains("outputs"), where, ": missing field 'outputs'");
        KVBENCH_CHECK_INPUT(v["outputs"].is_array() && !v["outputs"].empty(), where,
                            ": field 'outputs' must be a non-empty list of strings");
        std::vector<std::string> outputs;
        for (const auto& o : v["outputs"]) {
          KVBENCH_CHECK_INPUT(o.is_string(), where, ": field 'outputs' must hold strings, got ", o.type_name());
          outputs.push_back(o.get<std::string>());
        }
        std::string prefix;
        if (v.contains("answer_prefix")) prefix = require_string(record, path, "answer_prefix");
        const auto index = v["index"].get<int64_t>();
        KVBENCH_CHECK_INPUT(seen.insert(index).second, where, ": field 'index' repeats ", index);

        Sample sample;
        sample.id = std::to_string(index);
        sample.raw_prompt = input + prefix;
        sample.use_chat_template = false;
        sample.references = std::move(outputs);
        sample.max_new_tokens = budget;
        sample.metadata = nlohmann::json::object();
        for (auto it = v.begin(); it != v.end(); ++it)
          if (it.key() != "input" && it.key() != "outputs") sample.metadata[it.key()] = it.value();
        sample.metadata["line"] = record.line;
        sample.metadata["bucket"] = file_stem(path);
        out.push_back(std::move(sample));
      } catch (const Error& e) {
        drop_malformed_record(context, path, e);  // task.on_malformed: skip drops it, else rethrows
      }
    }
    KVBENCH_CHECK_INPUT(!out.empty(), path.string(), ": no records");
    return out;
  }

  std::string dataset_sha256(const TaskContext& context) override { return sha256_file_hex(file(context)); }

  std::vector<std::string> metrics(const TaskContext& context) const override {
    return {resolved_family(file(context)) == "qa" ? "ruler.string_match_part" : "ruler.string_match_all"};
  }

 private:
  std::filesystem::path file(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("file").get<std::string>());
  }
  std::string resolved_family(const std::filesystem::path& path) const {
    std::string family = params_.at("family").get<std::string>();
    if (family == "auto") family = family_of(file_stem(path));
    KVBENCH_CHECK_CONFIG(!family.empty(), "task.params.family: cannot tell the RULER task family of ",
                         path.string(), " from its name; set family to niah, vt, cwe, fwe or qa");
    return family;
  }

  nlohmann::json params_;
};

ParamSpecs pregenerated_params() {
  ParamSpec family{"family", ParamType::kString, "auto",
                   "RULER task family (budget and metric); auto: from the file name"};
  family.choices = {"auto", "niah", "vt", "cwe", "fwe", "qa"};
  return {
      {"file", ParamType::kString, "niah/ruler/pregenerated_4096/niah_multikey_3.jsonl.gz",
       "RULER jsonl (or .jsonl.gz), relative to data_root"},
      family,
      {"tokens_to_generate", ParamType::kInt, 0, "generation budget; 0: RULER's for the family", 0.0},
  };
}

}  // namespace

KVBENCH_REGISTER(Task, RegistryEntry<Task>{
    "ruler.pregenerated", "RULER samples from a pre-generated jsonl (fields index, input, outputs, length)",
    pregenerated_params(), [](const nlohmann::json& p) { return std::make_unique<RulerPregeneratedTask>(p); },
    {{"protocols", {"ruler.official"}}, {"default_protocol", "ruler.official"}}});

}  // namespace kvbench
