// SPDX-License-Identifier: Apache-2.0
// longproc.html_to_tsv: LongProc's HTML-to-TSV extraction (princeton-pli/LongProc,
// longproc/longproc_data.py _load_html_to_tsv_data + load_longproc_data; the reference study runs
// the same loader from its OpenCompass fork). One sample per task of html_to_tsv_<group>.json, in
// file order: user turn = prompts.yaml USER_PROMPT.format(html_str=page, task_topic=...,
// task_description=..., filtering_instruction=..., tsv_header=...) through the model's chat template
// (LongProc: apply_chat_template(add_generation_prompt=True)); reference = the gold TSV (`gt`);
// generation budget per output group as LongProc's example_usage.py: 0.5k 1024, 2k 3072, 8k 9216.
// The page is read as Python text mode reads it (universal newlines). Scored by longproc.html_to_tsv.
#include "datasets/jsonl_reader.h"
#include "harness/pytext/python_text.h"
#include "harness/task/task.h"
#include "datasets/task_files.h"
#include "harness/config_document.h"
#include "harness/error.h"
#include "harness/hashing.h"

#include <iostream>
#include <set>

namespace kvbench {
namespace {

int default_max_new_tokens(const std::string& group) {
  if (group == "0.5k") return 1024;
  if (group == "2k") return 3072;
  return 9216;  // 8k
}

class LongProcHtmlToTsvTask : public Task {
 public:
  explicit LongProcHtmlToTsvTask(nlohmann::json params) : params_(std::move(params)) {}

  std::vector<Sample> samples(const TaskContext& context) override {
    const std::string group = params_.at("group").get<std::string>();
    const auto path = data_file(context);
    const auto prompts = prompts_file(context);
    const std::string templ = user_prompt(prompts);
    int max_new = params_.at("max_new_tokens").get<int>();
    if (max_new == 0) max_new = default_max_new_tokens(group);

    JsonlReadResult read = read_jsonl(path, context);
    std::vector<Sample> out;
    std::set<std::string> ids;
    for (const auto& record : read.records) {
      try {
        std::map<std::string, std::string> fields;
        for (const char* name : {"task_id", "website_id", "task_topic", "task_description", "tsv_header",
                                 "filtering_instruction", "html", "gt"})
          fields[name] = require_string(record, path, name);
        const std::string where = path.string() + ":" + std::to_string(record.line);
        KVBENCH_CHECK_INPUT(ids.insert(fields["task_id"]).second, where, ": field 'task_id' repeats '",
                            fields["task_id"], "'");
        // The loader's dict: html_str = the page, reference_output = gt; format(**d) uses the rest.
        std::map<std::string, std::string> format_fields = {
            {"task_id", fields["task_id"]},
            {"website_id", fields["website_id"]},
            {"task_topic", fields["task_topic"]},
            {"task_description", fields["task_description"]},
            {"html_str", universal_newlines(fields["html"])},
            {"reference_output", fields["gt"]},
            {"tsv_header", fields["tsv_header"]},
            {"filtering_instruction", fields["filtering_instruction"]}};
        Sample sample;
        sample.id = fields["task_id"];
        sample.messages = {{"user", python_format(templ, format_fields, prompts.string() + " USER_PROMPT")}};
        sample.references = {fields["gt"]};
        sample.metadata = {{"line", record.line},
                           {"bucket", group},
                           {"website_id", fields["website_id"]},
                           {"task_topic", fields["task_topic"]}};
        sample.max_new_tokens = max_new;
        out.push_back(std::move(sample));
      } catch (const Error& e) {
        drop_malformed_record(context, path, e);  // task.on_malformed: skip drops it, else rethrows
      }
    }
    KVBENCH_CHECK_INPUT(!out.empty(), path.string(), ": no records");
    return out;
  }

  std::string dataset_sha256(const TaskContext& context) override {
    return sha256_hex(sha256_file_hex(data_file(context)) + ";" + sha256_file_hex(prompts_file(context)));
  }

  std::vector<std::string> metrics(const TaskContext&) const override { return {"longproc.html_to_tsv"}; }

 private:
  std::filesystem::path data_file(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("data_dir").get<std::string>()) /
           ("html_to_tsv_" + params_.at("group").get<std::string>() + ".jsonl.gz");
  }
  std::filesystem::path prompts_file(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("data_dir").get<std::string>()) / "prompts.yaml";
  }
  static std::string user_prompt(const std::filesystem::path& prompts) {
    KVBENCH_CHECK_INPUT(std::filesystem::is_regular_file(prompts), "LongProc prompt file not found: ",
                        prompts.string());
    ConfigDocument doc = load_config_document(prompts);
    auto it = doc.value.find("USER_PROMPT");
    KVBENCH_CHECK_INPUT(it != doc.value.end() && it->is_string(), prompts.string(),
                        ": missing string field 'USER_PROMPT'");
    return it->get<std::string>();
  }

  nlohmann::json params_;
};

ParamSpecs longproc_params() {
  ParamSpec group{"group", ParamType::kString, "8k",
                  "output length group: 0.5k, 2k or 8k (the study used 8k)"};
  group.choices = {"0.5k", "2k", "8k"};
  return {
      group,
      {"data_dir", ParamType::kString, "text2json/longproc_html_to_tsv",
       "folder with html_to_tsv_<group>.jsonl.gz and prompts.yaml, relative to data_root"},
      {"max_new_tokens", ParamType::kInt, 0,
       "generation budget; 0: LongProc's per group (0.5k 1024, 2k 3072, 8k 9216)", 0.0},
  };
}

}  // namespace

KVBENCH_REGISTER(Task, RegistryEntry<Task>{
    "longproc.html_to_tsv",
    "LongProc HTML-to-TSV: extract the listed items of a web page as TSV rows (0.5k/2k/8k outputs)",
    longproc_params(), [](const nlohmann::json& p) { return std::make_unique<LongProcHtmlToTsvTask>(p); },
    {{"protocols", {"longproc.official"}}, {"default_protocol", "longproc.official"}}});

}  // namespace kvbench
