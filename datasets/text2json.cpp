// SPDX-License-Identifier: Apache-2.0
// Text2JSON tasks (../shared/docs/text2json.md), scored by text2json.iou (the authors' evaluator):
//   text2json.official   the released jsonl (`problem`: the whole user turn, `answer`: the gold JSON
//                        list as a string), one user turn through the chat template, greedy, 1024
//                        new tokens. The file is not shipped: a missing file is an error naming the
//                        expected path and where to get it.
//   text2json.synthetic  generated samples (text2json_synthetic.h) for when the file is absent, one
//                        per (domain, target length, index), sized in the evaluated model's tokens.
#include "datasets/jsonl_reader.h"
#include "harness/task/task.h"
#include "datasets/task_files.h"
#include "datasets/text2json_domains.h"
#include "datasets/text2json_synthetic.h"
#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/tokenizer/tokenizer.h"

#include <algorithm>
#include <set>

namespace kvbench {
namespace {

constexpr int kMaxNewTokens = 1024;  // longest gold answer 905 tokens (authors' config)

// Coarse length bucket of a prompt, in tokens.
std::string length_bucket(int64_t tokens) {
  if (tokens < 16384) return "<16k";
  if (tokens < 32768) return "16k-32k";
  if (tokens < 65536) return "32k-64k";
  return ">=64k";
}

class Text2JsonOfficialTask : public Task {
 public:
  explicit Text2JsonOfficialTask(nlohmann::json params) : params_(std::move(params)) {}

  std::vector<Sample> samples(const TaskContext& context) override {
    const auto path = file(context);
    check_present(path);
    std::vector<Sample> out = load_jsonl<Sample>(path, context, [&](const JsonlRecord& record) {
      Sample sample;
      sample.messages = {{"user", require_string(record, path, "problem")}};
      sample.references = {require_string(record, path, "answer")};
      sample.metadata = {{"line", record.line}};
      sample.max_new_tokens = kMaxNewTokens;
      return sample;
    });
    for (size_t i = 0; i < out.size(); ++i) {
      Sample& sample = out[i];
      sample.id = std::to_string(i);
      if (context.tokenizer != nullptr) {
        auto tokens = static_cast<int64_t>(context.tokenizer->encode(sample.messages[0].content, false).size());
        sample.metadata["prompt_tokens"] = tokens;
        sample.metadata["bucket"] = length_bucket(tokens);
      }
    }
    return out;
  }

  std::string dataset_sha256(const TaskContext& context) override {
    const auto path = file(context);
    check_present(path);
    return sha256_file_hex(path);
  }

  std::vector<std::string> metrics(const TaskContext&) const override { return {"text2json.iou"}; }

 private:
  std::filesystem::path file(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("file").get<std::string>());
  }
  static void check_present(const std::filesystem::path& path) {
    KVBENCH_CHECK_INPUT(std::filesystem::is_regular_file(path),
                        "Text2JSON data file not found: expected ", path.string(),
                        " (the official file is not shipped; get text2json.jsonl from GitHub "
                        "yandex-research/context-intensive-kv-offloading, data/text2json.jsonl, and "
                        "place it there; or use the task text2json.synthetic)");
  }
  nlohmann::json params_;
};

class Text2JsonSyntheticTask : public Task {
 public:
  explicit Text2JsonSyntheticTask(nlohmann::json params) : params_(std::move(params)) {
    std::set<std::string> domains;
    for (const auto& d : params_.at("domains").get<std::vector<std::string>>()) {
      KVBENCH_CHECK_CONFIG(text2json::find_domain(d) != nullptr, "task.params.domains: unknown domain '",
                           d, "' (products, medical, organizations, movies)");
      KVBENCH_CHECK_CONFIG(domains.insert(d).second, "task.params.domains: '", d, "' is listed twice");
    }
    const auto targets = params_.at("target_tokens").get<std::vector<int64_t>>();
    KVBENCH_CHECK_CONFIG(std::set<int64_t>(targets.begin(), targets.end()).size() == targets.size(),
                         "task.params.target_tokens: repeated values (sample ids must be unique)");
  }

  std::vector<Sample> samples(const TaskContext& context) override {
    KVBENCH_CHECK_CONFIG(context.tokenizer != nullptr,
                         "text2json.synthetic sizes its documents with the evaluated model's "
                         "tokenizer, but none was given (the engine has no tokenizer)");
    std::string essays;
    for (const auto& file : essay_files(filler_dir(context))) essays += read_text_file(file) + "\n\n";
    const auto filler = text2json::filler_pieces(essays);
    const auto seed = params_.at("seed").get<uint64_t>();
    std::vector<Sample> out;
    for (const auto& domain : params_.at("domains").get<std::vector<std::string>>()) {
      for (int64_t target : params_.at("target_tokens").get<std::vector<int64_t>>()) {
        for (int index = 0; index < params_.at("samples_per_cell").get<int>(); ++index) {
          text2json::SyntheticSpec spec;
          spec.domain = domain;
          spec.target_tokens = target;
          spec.seed = seed;
          spec.index = index;
          spec.entities = params_.at("entities").get<int>();
          spec.tolerance = params_.at("tolerance").get<double>();
          text2json::SyntheticSample generated = text2json::generate_sample(spec, *context.tokenizer, filler);
          Sample sample;
          sample.id = domain + "-" + std::to_string(target) + "-" + std::to_string(index);
          sample.messages = {{"user", generated.problem}};
          sample.references = {generated.answer};
          sample.metadata = {{"bucket", "len" + std::to_string(target)},
                             {"domain", domain},
                             {"target_tokens", target},
                             {"prompt_tokens", generated.prompt_tokens},
                             {"entities", generated.gold.size()},
                             {"mentions_without_attributes", generated.mentions},
                             {"near_misses", generated.near_misses},
                             {"generator_version", text2json::kGeneratorVersion},
                             {"seed", seed},
                             {"sample_seed", generated.sample_seed}};
          sample.max_new_tokens = params_.at("max_new_tokens").get<int>();
          out.push_back(std::move(sample));
        }
      }
    }
    return out;
  }

  // Generator version + resolved params + the filler essays. The tokenizer (which decides the exact
  // text) is identified by the run's model.path, already part of the run hash.
  std::string dataset_sha256(const TaskContext& context) override {
    std::string parts = str_cat(text2json::kGeneratorVersion, ";", params_.dump());
    for (const auto& file : essay_files(filler_dir(context)))
      parts += ";" + file.filename().string() + ":" + sha256_file_hex(file);
    return sha256_hex(parts);
  }

  std::vector<std::string> metrics(const TaskContext&) const override { return {"text2json.iou"}; }

 private:
  std::filesystem::path filler_dir(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("filler_dir").get<std::string>());
  }
  nlohmann::json params_;
};

ParamSpecs official_params() {
  return {{"file", ParamType::kString, "text2json/text2json.jsonl",
           "the released jsonl (problem, answer), relative to data_root"}};
}

ParamSpecs synthetic_params() {
  ParamSpec domains{"domains", ParamType::kStringList, text2json::domain_ids(),
                    "domains to generate (products, medical, organizations, movies)"};
  domains.choices = text2json::domain_ids();
  return {
      {"seed", ParamType::kInt, 0, "generator seed", 0.0},
      domains,
      {"target_tokens", ParamType::kIntList, nlohmann::json::array({4096, 8192, 16384, 32768, 65536}),
       "problem lengths in the evaluated model's tokens (no template, no special tokens)", 256.0},
      {"samples_per_cell", ParamType::kInt, 5, "samples per (domain, length)", 1.0},
      {"entities", ParamType::kInt, 0, "entities per sample (0: clamp(target/1000 + 2, 3, 35))", 0.0, 200.0},
      {"tolerance", ParamType::kFloat, 0.02, "accepted relative length error", 0.0, 0.5},
      {"filler_dir", ParamType::kString, "niah/paul_graham_essays",
       "essays used as filler text (sorted .txt files), relative to data_root"},
      {"max_new_tokens", ParamType::kInt, kMaxNewTokens, "generation budget", 1.0},
  };
}

}  // namespace

KVBENCH_REGISTER(Task, RegistryEntry<Task>{
    "text2json.official", "Text2JSON (Yandex Research): the released problem/answer file, 1024 new tokens",
    official_params(), [](const nlohmann::json& p) { return std::make_unique<Text2JsonOfficialTask>(p); },
    {{"protocols", {"text2json.official"}}, {"default_protocol", "text2json.official"}}});

KVBENCH_REGISTER(Task, RegistryEntry<Task>{
    "text2json.synthetic",
    "Text2JSON-style synthetic extraction: 4 domains, documents sized in model tokens, distractors",
    synthetic_params(), [](const nlohmann::json& p) { return std::make_unique<Text2JsonSyntheticTask>(p); },
    {{"protocols", {"text2json.synthetic"}}, {"default_protocol", "text2json.synthetic"}}});

}  // namespace kvbench
