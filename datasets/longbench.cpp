// SPDX-License-Identifier: Apache-2.0
// LongBench v1 (21 tasks, `longbench.<dataset>`) and LongBench-E (13 tasks, `longbench_e.<dataset>`)
// under protocol longbench.official, as THUDM/LongBench LongBench/pred.py + eval.py build them:
//   prompt   = dataset2prompt[dataset].format(**record)
//   truncate = middle truncation in the evaluated model's tokens to max_length (pred.py's
//              model2maxlen value; a task parameter here since kvbench runs any model)
//   template = the model's chat template (one user turn, generation prompt) except for trec,
//              triviaqa, samsum, lsht, lcc, repobench-p, which get the raw prompt with the
//              tokenizer's special tokens (BOS). pred.py hard-codes one build_chat per model; the
//              model's own chat template is kvbench's equivalent, rendered and tokenized as
//              transformers' apply_chat_template(tokenize=True) does (no second BOS).
//   decode   = greedy, max_new_tokens = dataset2maxlen[dataset]; samsum also stops on the newline
//              token (tokenizer.encode("\n")[-1], Sample::stop_token_ids). Not reproduced for
//              samsum: min_length = prompt + 1 (EOS and newline barred from the first step) needs
//              engine support; and pred.py's eos list there is [tokenizer.eos, newline] in place of
//              the generation config's EOS ids, where kvbench adds the newline to the model's ids.
//   score    = eval.py dataset2metric (metrics/longbench_*.cpp): first-line cut for trec, triviaqa,
//              samsum, lsht; max over answers; LongBench-E samples carry their length bucket.
// `longbench.kvpress` is not offered: kvpress compresses only the context and feeds the question
// afterwards (positions continuing from the uncompressed length), which the engine cannot express
// yet; it also applies the chat template to all tasks, keeps the head on truncation, adds 20 new
// tokens, puts the answer prefix in the assistant turn and strips all leading whitespace before
// scoring (kvpress evaluation/benchmarks/longbench; ../shared/docs/protocols.md 0, 1.3, 7).
#include "datasets/longbench_prompt.h"
#include "datasets/longbench_records.h"
#include "harness/task/task.h"
#include "datasets/task_files.h"
#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/tokenizer/tokenizer.h"

#include <iostream>
#include <memory>

namespace kvbench {
namespace {

constexpr const char* kProtocol = "longbench.official";
// sha256 of THUDM/LongBench LongBench/config/dataset2prompt.json and dataset2maxlen.json at
// 2e00731 (../shared/data/PROVENANCE.md, L1): a run with other files is marked non-official.
constexpr const char* kOfficialPromptSha =
    "56d22ad4f382169c2b8a11ff4c982a4a1bea096c8152b0f0b85b64686b157c30";
constexpr const char* kOfficialMaxlenSha =
    "72966b3c0933e214591637fb085798c5e687ebff4ddaab5d99bbc31120532022";

class LongBenchTask : public Task {
 public:
  LongBenchTask(std::string dataset, bool longbench_e, nlohmann::json params)
      : dataset_(std::move(dataset)), longbench_e_(longbench_e), params_(std::move(params)) {}

  std::vector<Sample> samples(const TaskContext& context) override {
    const LongBenchConfig config = LongBenchConfig::load(config_dir(context));
    const std::string& format = config.prompt_template(dataset_);
    const int max_new_tokens = config.max_new_tokens(dataset_);
    const bool official_config = config.fingerprint() == std::string("prompt:") + kOfficialPromptSha +
                                                              ";maxlen:" + kOfficialMaxlenSha;
    if (!official_config)
      std::cerr << task_name() << ": " << config_dir(context).string()
                << " differs from the official LongBench config files (results are not "
                   "comparable to longbench.official)\n";

    const int64_t max_length = params_.at("max_length").get<int64_t>();
    const bool is_samsum = dataset_ == "samsum";
    KVBENCH_CHECK_CONFIG(context.tokenizer != nullptr || (max_length == 0 && !is_samsum),
                         task_name(), " truncates prompts (task.params.max_length ", max_length,
                         ") with the evaluated model's tokenizer, but none was given (the engine "
                         "has no tokenizer); set max_length: 0 to disable truncation");
    const bool template_allowed = params_.at("chat_template").get<std::string>() == "official";
    const bool use_chat = template_allowed && !longbench_skips_chat_template(dataset_);
    std::vector<int64_t> stop_ids;
    if (is_samsum) {
      // pred.py: eos_token_id=[tokenizer.eos_token_id, tokenizer.encode("\n", add_special_tokens=False)[-1]].
      const std::vector<int32_t> newline = context.tokenizer->encode("\n", false);
      KVBENCH_CHECK_INPUT(!newline.empty(), context.tokenizer->source(), ": \"\\n\" encodes to no token");
      stop_ids.push_back(newline.back());
    }

    const std::filesystem::path path = data_path(context);
    const LongBenchFile file = load_longbench_file(path, context);

    std::vector<Sample> out;
    out.reserve(file.records.size());
    for (const LongBenchRecord& record : file.records) {
      const std::string where = path.string() + ":" + std::to_string(record.line);
      const LongBenchPrompt prompt =
          longbench_truncate(longbench_format(format, record.fields, where), context.tokenizer, max_length);
      Sample sample;
      sample.id = record.id;
      sample.use_chat_template = use_chat;
      if (use_chat)
        sample.messages = {{"user", prompt.text}};
      else
        sample.raw_prompt = prompt.text;
      sample.references = record.answers;
      sample.max_new_tokens = max_new_tokens;
      sample.stop_token_ids = stop_ids;
      sample.metadata = {{"dataset", dataset_},
                         {"all_classes", record.all_classes},
                         {"length", record.fields.at("length")},
                         {"language", record.language},
                         {"_id", record.id},
                         {"line", record.line},
                         {"max_length", max_length},
                         {"prompt_tokens", prompt.tokens},
                         {"truncated", prompt.truncated},
                         {"chat_template", use_chat},
                         {"official_config", official_config}};
      if (!record.dataset.empty()) sample.metadata["source_dataset"] = record.dataset;
      if (longbench_e_) sample.metadata["bucket"] = longbench_e_bucket(record.length);
      out.push_back(std::move(sample));
    }
    return out;
  }

  std::string dataset_sha256(const TaskContext& context) override {
    const LongBenchConfig config = LongBenchConfig::load(config_dir(context));
    return sha256_hex("data:" + sha256_file_hex(data_path(context)) + ";" + config.fingerprint());
  }

  std::vector<std::string> metrics(const TaskContext&) const override {
    return {longbench_metric_for_dataset(dataset_)};
  }

 private:
  std::string task_name() const { return (longbench_e_ ? "longbench_e." : "longbench.") + dataset_; }

  std::filesystem::path config_dir(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("config_dir").get<std::string>());
  }

  std::filesystem::path data_path(const TaskContext& context) const {
    const std::string file = params_.at("data_file").get<std::string>();
    if (file.empty()) return longbench_default_file(context.data_root, dataset_, longbench_e_);
    return resolve_data_path(context.data_root, file);
  }

  std::string dataset_;
  bool longbench_e_;
  nlohmann::json params_;
};

ParamSpecs longbench_params(const std::string& dataset, bool longbench_e) {
  const std::string stem = dataset + (longbench_e ? "_e" : "");
  ParamSpec thinking{"enable_thinking", ParamType::kBool, nullptr,
                     "chat template variable enable_thinking (Qwen3); null: not passed"};
  thinking.nullable = true;
  return {
      {"data_file", ParamType::kString, "",
       "jsonl(.gz) relative to data_root; empty: longbench/data/" + stem + ".jsonl, else .jsonl.gz"},
      {"config_dir", ParamType::kString, "longbench/config",
       "folder with the official dataset2prompt.json and dataset2maxlen.json, relative to data_root"},
      {"max_length", ParamType::kInt, 31500,
       "middle truncation to this many tokens of the evaluated model (pred.py model2maxlen; 31500 "
       "is its value for the 32k-context models; 0: no truncation)", 0.0},
      ParamSpec{"chat_template", ParamType::kString, "official",
                "official: the model's chat template except for the 6 few-shot/code tasks; none: "
                "raw prompts only (pred.py build_chat for a model without a chat format)",
                std::nullopt, std::nullopt, {"official", "none"}},
      thinking,
  };
}

// One registered task per dataset: 21 LongBench v1 tasks and 13 LongBench-E tasks.
struct LongBenchRegistrations {
  LongBenchRegistrations() {
    for (bool longbench_e : {false, true}) {
      for (const std::string& dataset : longbench_e ? longbench_e_datasets() : longbench_datasets()) {
        const std::string name = (longbench_e ? "longbench_e." : "longbench.") + dataset;
        const std::string description =
            std::string(longbench_e ? "LongBench-E " : "LongBench v1 ") + dataset +
            " (THUDM/LongBench pred.py prompt, middle truncation, chat-template policy; " +
            longbench_metric_for_dataset(dataset) + (longbench_e ? ", length buckets)" : ")");
        Registrar<Task>(__FILE__, RegistryEntry<Task>{
            name, description, longbench_params(dataset, longbench_e),
            [dataset, longbench_e](const nlohmann::json& p) {
              return std::make_unique<LongBenchTask>(dataset, longbench_e, p);
            },
            {{"protocols", {kProtocol}}, {"default_protocol", kProtocol}, {"dataset", dataset},
             {"metric", longbench_metric_for_dataset(dataset)}}});
      }
    }
  }
};
const LongBenchRegistrations kLongBenchRegistrations;

}  // namespace
}  // namespace kvbench
