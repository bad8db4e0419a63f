// SPDX-License-Identifier: Apache-2.0
// GSM8K as lm-evaluation-harness builds it (lm_eval 0.4.13, lm_eval/tasks/gsm8k/):
//   gsm8k      5-shot "Question: {q}\nAnswer:" with full train solutions as targets; exemplars drawn
//              by ContextSampler: one Random(fewshot_seed) shared by all test docs in order, each doc
//              taking rnd.sample(train, num_fewshot).
//   gsm8k_cot  8 fixed exemplars "Q: {q}\nA: {target}" (datasets/prompts/gsm8k_cot_fewshot.json).
// Text mode: user turn + " " + answer + "\n\n" per exemplar, then the test question (raw prompt).
// Chat mode (apply_chat_template): fewshot_as_multiturn gives user/assistant pairs, otherwise the
// whole text is one user turn; system_instruction adds a system turn. Samples are in test order;
// selecting ids does not re-draw exemplars (lm-eval's --samples would: documented difference).
#include "datasets/jsonl_reader.h"
#include "harness/pytext/python_random.h"
#include "harness/task/task.h"
#include "datasets/task_files.h"
#include "harness/error.h"
#include "harness/hashing.h"

#include <memory>

namespace kvbench {
namespace {

struct QaPair {
  std::string question;
  std::string target;
};

std::string python_strip(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  size_t begin = s.find_first_not_of(ws);
  if (begin == std::string::npos) return "";
  size_t end = s.find_last_not_of(ws);
  return s.substr(begin, end - begin + 1);
}

// doc_to_target of gsm8k_cot: answer.split('####')[-1].strip().
std::string cot_target(const std::string& answer) {
  size_t pos = answer.rfind("####");
  return python_strip(pos == std::string::npos ? answer : answer.substr(pos + 4));
}

struct Gsm8kDoc {
  std::string question;
  std::string answer;
};

std::vector<Gsm8kDoc> load_docs(const std::filesystem::path& path, const TaskContext& context) {
  return load_jsonl<Gsm8kDoc>(path, context, [&](const JsonlRecord& record) {
    return Gsm8kDoc{require_string(record, path, "question"), require_string(record, path, "answer")};
  });
}

class Gsm8kTask : public Task {
 public:
  Gsm8kTask(bool cot, nlohmann::json params) : cot_(cot), params_(std::move(params)) {}

  std::vector<Sample> samples(const TaskContext& context) override {
    const auto test = load_docs(test_path(context), context);
    const int num_fewshot = params_.at("num_fewshot").get<int>();
    const bool chat = params_.at("apply_chat_template").get<bool>();
    const bool multiturn = params_.at("fewshot_as_multiturn").get<bool>();
    const std::string system = params_.at("system_instruction").get<std::string>();

    std::vector<QaPair> fixed;  // gsm8k_cot's exemplars
    std::vector<Gsm8kDoc> train;
    std::unique_ptr<PythonRandom> rnd;
    if (cot_) {
      fixed = load_cot_exemplars();
      KVBENCH_CHECK_CONFIG(num_fewshot <= static_cast<int>(fixed.size()), "task.params.num_fewshot: ",
                           num_fewshot, " exceeds the ", fixed.size(), " fixed gsm8k_cot exemplars");
    } else if (num_fewshot > 0) {
      train = load_docs(train_path(context), context);
      // random.sample(population, k) needs k <= len(population) (found by tests/fuzz).
      KVBENCH_CHECK_INPUT(train.size() >= static_cast<size_t>(num_fewshot), train_path(context).string(),
                          ": ", train.size(), " usable few-shot record(s), fewer than task.params.num_fewshot (",
                          num_fewshot, ")");
      rnd = std::make_unique<PythonRandom>(params_.at("fewshot_seed").get<uint64_t>());
    }

    std::vector<Sample> out;
    out.reserve(test.size());
    for (size_t doc_id = 0; doc_id < test.size(); ++doc_id) {
      std::vector<QaPair> shots;
      nlohmann::json shot_ids = nlohmann::json::array();
      if (cot_) {
        shots.assign(fixed.begin(), fixed.begin() + num_fewshot);
      } else if (num_fewshot > 0) {
        for (size_t index : rnd->sample_indices(train.size(), static_cast<size_t>(num_fewshot))) {
          shots.push_back({format_question(train[index].question), train[index].answer});
          shot_ids.push_back(index);
        }
      }
      const Gsm8kDoc& doc = test[doc_id];
      Sample sample;
      sample.id = std::to_string(doc_id);
      build_prompt(shots, format_question(doc.question), chat, multiturn, system, sample);
      sample.references = {cot_ ? cot_target(doc.answer) : doc.answer};
      sample.metadata = {{"doc_id", doc_id}, {"num_fewshot", num_fewshot},
                         {"apply_chat_template", chat},
                         {"fewshot_as_multiturn", chat && multiturn}};
      if (!cot_) sample.metadata["fewshot_train_indices"] = shot_ids;
      sample.max_new_tokens = params_.at("max_new_tokens").get<int>();
      sample.stop = {cot_ ? "Q:" : "Question:", "</s>", "<|im_end|>"};
      out.push_back(std::move(sample));
    }
    return out;
  }

  std::string dataset_sha256(const TaskContext& context) override {
    std::string parts = "test:" + sha256_file_hex(test_path(context));
    if (cot_)
      parts += ";exemplars:" + sha256_file_hex(prompt_file("gsm8k_cot_fewshot.json"));
    else
      parts += ";train:" + sha256_file_hex(train_path(context));
    return sha256_hex(parts);
  }

  std::vector<std::string> metrics(const TaskContext&) const override {
    return {cot_ ? "gsm8k_cot.exact_match" : "gsm8k.exact_match"};
  }

 private:
  std::filesystem::path test_path(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("test_file").get<std::string>());
  }
  std::filesystem::path train_path(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("train_file").get<std::string>());
  }

  std::string format_question(const std::string& question) const {
    return cot_ ? "Q: " + question + "\nA:" : "Question: " + question + "\nAnswer:";
  }

  std::vector<QaPair> load_cot_exemplars() const {
    const auto path = prompt_file("gsm8k_cot_fewshot.json");
    nlohmann::json doc = nlohmann::json::parse(read_text_file(path), nullptr, false);
    KVBENCH_CHECK_INPUT(!doc.is_discarded() && doc.contains("samples") && doc["samples"].is_array(),
                        path.string(), ": expected an object with a 'samples' array");
    std::vector<QaPair> out;
    for (size_t i = 0; i < doc["samples"].size(); ++i) {
      const auto& s = doc["samples"][i];
      KVBENCH_CHECK_INPUT(s.contains("question") && s["question"].is_string() && s.contains("target") &&
                              s["target"].is_string(),
                          path.string(), ": samples[", i, "] needs string fields 'question' and 'target'");
      out.push_back({format_question(s["question"].get<std::string>()), s["target"].get<std::string>()});
    }
    return out;
  }

  // lm-eval's fewshot_context + build_qa_turn for a doc without gen_prefix or description.
  static void build_prompt(const std::vector<QaPair>& shots, const std::string& question, bool chat,
                           bool multiturn, const std::string& system, Sample& sample) {
    std::string text;
    for (const auto& shot : shots) text += shot.question + " " + shot.target + "\n\n";
    text += question;
    if (!chat) {
      sample.use_chat_template = false;
      sample.raw_prompt = system + text;  // a system Message renders with an empty delimiter
      return;
    }
    sample.use_chat_template = true;
    if (!system.empty()) sample.messages.push_back({"system", system});
    if (multiturn) {
      for (const auto& shot : shots) {
        sample.messages.push_back({"user", shot.question});
        sample.messages.push_back({"assistant", shot.target});
      }
      sample.messages.push_back({"user", question});
    } else {
      sample.messages.push_back({"user", text});
    }
  }

  bool cot_;
  nlohmann::json params_;
};

ParamSpecs gsm8k_params(bool cot) {
  return {
      {"test_file", ParamType::kString, "gsm8k/test.jsonl", "test split (jsonl), relative to data_root"},
      {"train_file", ParamType::kString, "gsm8k/train.jsonl.gz",
       "train split the 5-shot exemplars are drawn from (unused by gsm8k_cot)"},
      {"num_fewshot", ParamType::kInt, cot ? 8 : 5, "number of exemplars", 0.0, cot ? 8.0 : 64.0},
      {"fewshot_seed", ParamType::kInt, 1234, "lm-eval fewshot seed (random.Random)", 0.0},
      {"apply_chat_template", ParamType::kBool, false,
       "render as chat messages (lm-eval --apply_chat_template)"},
      {"fewshot_as_multiturn", ParamType::kBool, true,
       "with the chat template: exemplars as user/assistant turns (lm-eval default), else one user turn"},
      {"system_instruction", ParamType::kString, "", "lm-eval --system_instruction (empty: none)"},
      {"max_new_tokens", ParamType::kInt, 256, "lm-eval HF max_gen_toks default", 1.0},
  };
}

nlohmann::json gsm8k_extra() {
  return {{"protocols", {"gsm8k.lmeval"}}, {"default_protocol", "gsm8k.lmeval"}};
}

}  // namespace

KVBENCH_REGISTER(Task, RegistryEntry<Task>{
    "gsm8k", "GSM8K test, lm-eval gsm8k: 5-shot Question/Answer, exemplars drawn with seed 1234",
    gsm8k_params(false),
    [](const nlohmann::json& p) { return std::make_unique<Gsm8kTask>(false, p); }, gsm8k_extra()});

KVBENCH_REGISTER(Task, RegistryEntry<Task>{
    "gsm8k_cot", "GSM8K test, lm-eval gsm8k_cot: 8 fixed chain-of-thought exemplars, Q/A format",
    gsm8k_params(true),
    [](const nlohmann::json& p) { return std::make_unique<Gsm8kTask>(true, p); }, gsm8k_extra()});

}  // namespace kvbench
