// SPDX-License-Identifier: Apache-2.0
// Task interface: a task family (one file in datasets/) turns its data files or generator into an
// ordered list of samples for one protocol, and names the metrics that score them. Sample order is
// deterministic (the run store resumes by sample id and aggregates in this order).
#pragma once

#include "harness/task/malformed_input.h"
#include "harness/chat_message.h"
#include "harness/registry.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace kvbench {

class Tokenizer;  // harness/tokenizer/tokenizer.h

struct Sample {
  std::string id;                       // unique within the task+protocol; stable across runs
  Conversation messages;                // rendered with the model's chat template when
  bool use_chat_template = true;        //   use_chat_template, else joined as a raw prompt
  std::string raw_prompt;               // used instead of messages when non-empty
  std::vector<std::string> references;  // gold answers (scored max over references where relevant)
  nlohmann::json metadata = nlohmann::json::object();  // length bucket, depth, all_classes, ...
  int max_new_tokens = 0;               // 0: use the run's generation.max_new_tokens
  std::vector<std::string> stop;        // extra stop strings for this sample
  std::vector<int64_t> stop_token_ids;  // extra stop token ids (e.g. LongBench samsum's newline)
};

struct TaskContext {
  std::filesystem::path data_root;      // ../shared/data by default (config: task.data_root)
  std::string protocol;                 // e.g. "gsm8k.lmeval"
  nlohmann::json params;                // resolved against the task's ParamSpecs
  const Tokenizer* tokenizer = nullptr; // the evaluated model's tokenizer (sizing, truncation)
  uint64_t seed = 0;
  // Malformed input records (config task.on_malformed; harness/task/malformed_input.h). Every task that
  // reads data files honours it, best through load_jsonl() (datasets/jsonl_reader.h), which applies
  // it to unparsable lines and to the kInput errors of require_*() field access alike:
  //   kError  fail on the first one, naming file:line and the field;
  //   kSkip   drop the record and add it to *malformed, which the runner prints and records in
  //           run.json ("malformed") and metrics.json ("n_samples.malformed_skipped").
  // A missing or corrupt file, or one without any usable record, is an error under both policies.
  MalformedPolicy on_malformed = MalformedPolicy::kError;
  std::shared_ptr<MalformedLog> malformed = std::make_shared<MalformedLog>();  // shared by copies
};

class Task {
 public:
  virtual ~Task() = default;
  // All samples of this protocol, in their canonical order (limit/ids are applied by the runner).
  virtual std::vector<Sample> samples(const TaskContext& context) = 0;
  // sha256 (hex) identifying the data: of the source file(s), or of the generator version + params.
  virtual std::string dataset_sha256(const TaskContext& context) = 0;
  // Metric names (registered in metrics/) that score this protocol's predictions.
  virtual std::vector<std::string> metrics(const TaskContext& context) const = 0;
};

// RegistryEntry<Task>::extra holds {"protocols": [...], "default_protocol": "..."}.
KVBENCH_REGISTRY_KIND(Task, "task");
using TaskRegistry = Registry<Task>;

}  // namespace kvbench
