// SPDX-License-Identifier: Apache-2.0
// gsm8k / gsm8k_cot: PythonRandom equals CPython's random (reference run at test time); rendered
// prompts (text, chat multi-turn, chat single-turn with a system instruction) equal what the real
// lm-evaluation-harness builds for the first docs; targets, stops and metrics; malformed input.
#include "harness/pytext/python_random.h"
#include "harness/tokenizer/chat_template.h"
#include "tests/datasets/task_test_support.h"

#include <gmock/gmock.h>

namespace kvbench {
namespace {

using testing::data_dir;
using testing::error_of;
using testing::make_context;
using testing::make_task;
using testing::read_json;
using testing::run_python;
using testing::scratch_dir;
using testing::source_dir;
using ::testing::HasSubstr;

TEST(PythonRandom, MatchesCPython) {
  auto out = scratch_dir("gsm8k") / "python_random.json";
  ASSERT_EQ(run_python((source_dir() / "scripts/reference/python_random_vectors.py").string() + " " +
                       out.string()),
            0);
  nlohmann::json ref = read_json(out);
  size_t checked = 0;
  for (const auto& c : ref["sample"]) {
    PythonRandom rnd(c["seed"].get<uint64_t>());
    for (const auto& draw : c["draws"]) {
      auto got = rnd.sample_indices(c["n"].get<size_t>(), c["k"].get<size_t>());
      EXPECT_EQ(nlohmann::json(got), draw) << c.dump();
      ++checked;
    }
  }
  PythonRandom bits(1234);
  for (const auto& kv : ref["bits"])
    EXPECT_EQ(bits.getrandbits(kv[0].get<int>()), kv[1].get<uint64_t>()) << kv.dump();
  PythonRandom floats(5);
  for (const auto& v : ref["random"]) EXPECT_EQ(floats.random(), v.get<double>());
  EXPECT_GT(checked, 50u);
}

struct ParityCase {
  std::string name;
  std::string task;
  std::string chat;          // none | multiturn | singleturn
  std::string system;        // system instruction ("" = none)
  int limit;
  std::string hf_template;   // tokenizers/<dir> rendered by transformers ("" = compare messages)
};

void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.name; }

const std::vector<ParityCase>& parity_cases() {
  static const std::vector<ParityCase> cases = {
      {"gsm8k_text", "gsm8k", "none", "", 60, ""},
      {"gsm8k_multiturn", "gsm8k", "multiturn", "", 12, ""},
      {"gsm8k_singleturn_system", "gsm8k", "singleturn", "You are a careful solver.", 6, ""},
      {"gsm8k_cot_text", "gsm8k_cot", "none", "", 8, ""},
      {"gsm8k_cot_multiturn_system", "gsm8k_cot", "multiturn", "Think.", 4, ""},
      {"gsm8k_rendered_llama3", "gsm8k", "multiturn", "", 4, "llama3"},
      {"gsm8k_rendered_qwen3", "gsm8k", "multiturn", "", 4, "qwen3"},
      {"gsm8k_cot_rendered_qwen3_system", "gsm8k_cot", "multiturn", "Be brief.", 3, "qwen3"},
  };
  return cases;
}

// One reference run (lm-eval import + dataset load once) for every case.
const nlohmann::json& lm_eval_reference() {
  static const nlohmann::json reference = [] {
    nlohmann::json cases = nlohmann::json::array();
    for (const auto& c : parity_cases()) {
      nlohmann::json j = {{"name", c.name}, {"task", c.task}, {"chat", c.chat}, {"limit", c.limit}};
      if (!c.system.empty()) j["system"] = c.system;
      if (!c.hf_template.empty()) j["hf_model_dir"] = (data_dir() / "tokenizers" / c.hf_template).string();
      cases.push_back(j);
    }
    auto dir = scratch_dir("gsm8k");
    testing::write_file(dir / "cases.json", cases.dump());
    int status = run_python((source_dir() / "scripts/reference/gsm8k_prompts.py").string() +
                            " --data-dir " + (data_dir() / "gsm8k").string() + " --cases " +
                            (dir / "cases.json").string() + " --out " + (dir / "reference.json").string());
    return status == 0 ? read_json(dir / "reference.json") : nlohmann::json();
  }();
  return reference;
}

class Gsm8kParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(Gsm8kParity, PromptsEqualLmEval) {
  const ParityCase& c = GetParam();
  const nlohmann::json& ref = lm_eval_reference();
  ASSERT_TRUE(ref.contains("cases")) << "the lm-eval reference script failed";
  const nlohmann::json& rows = ref["cases"][c.name];
  ASSERT_EQ(rows.size(), static_cast<size_t>(c.limit));

  nlohmann::json params = {{"apply_chat_template", c.chat != "none"},
                           {"fewshot_as_multiturn", c.chat == "multiturn"},
                           {"system_instruction", c.system}};
  auto samples = make_task(c.task, params)->samples(make_context("gsm8k.lmeval"));
  ASSERT_EQ(samples.size(), 1319u);
  std::unique_ptr<ChatTemplate> chat;
  if (!c.hf_template.empty())
    chat = std::make_unique<ChatTemplate>(ChatTemplate::load((data_dir() / "tokenizers" / c.hf_template).string()));
  for (int i = 0; i < c.limit; ++i) {
    const auto& row = rows[i];
    const Sample& s = samples[i];
    ASSERT_EQ(s.id, std::to_string(row["doc_id"].get<int>()));
    EXPECT_EQ(s.references, std::vector<std::string>{row["target"].get<std::string>()}) << s.id;
    EXPECT_EQ(s.stop, row["until"].get<std::vector<std::string>>()) << s.id;
    if (c.chat == "none") {
      EXPECT_FALSE(s.use_chat_template);
      EXPECT_EQ(s.raw_prompt, row["prompt"].get<std::string>()) << "doc " << i;
    } else if (chat) {
      // End to end: kvbench's chat template over the messages vs transformers over lm-eval's.
      EXPECT_EQ(chat->render(s.messages), row["rendered"].get<std::string>()) << "doc " << i;
    } else {
      EXPECT_TRUE(s.use_chat_template);
      EXPECT_TRUE(s.raw_prompt.empty());
      EXPECT_TRUE(row["add_generation_prompt"].get<bool>());
      const auto& messages = row["messages"];
      ASSERT_EQ(s.messages.size(), messages.size()) << "doc " << i;
      for (size_t m = 0; m < messages.size(); ++m) {
        EXPECT_EQ(s.messages[m].role, messages[m]["role"].get<std::string>()) << i << "/" << m;
        EXPECT_EQ(s.messages[m].content, messages[m]["content"].get<std::string>()) << i << "/" << m;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(LmEval, Gsm8kParity, ::testing::ValuesIn(parity_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Gsm8k, MetricsGenerationAndMetadata) {
  auto task = make_task("gsm8k", {});
  auto context = make_context("gsm8k.lmeval");
  EXPECT_EQ(task->metrics(context), std::vector<std::string>{"gsm8k.exact_match"});
  EXPECT_EQ(make_task("gsm8k_cot", {})->metrics(context),
            std::vector<std::string>{"gsm8k_cot.exact_match"});
  auto samples = task->samples(context);
  EXPECT_EQ(samples[0].max_new_tokens, 256);
  EXPECT_EQ(samples[0].metadata["fewshot_train_indices"].size(), 5u);
  // Deterministic: a second call yields the same exemplars (a fresh Random(1234) per call).
  EXPECT_EQ(task->samples(context)[100].raw_prompt, samples[100].raw_prompt);
  auto zero = make_task("gsm8k", {{"num_fewshot", 0}})->samples(context);
  EXPECT_EQ(zero[0].raw_prompt.rfind("Question: ", 0), 0u);
  EXPECT_EQ(zero[0].raw_prompt.find("\n\n"), std::string::npos);
  std::string sha = task->dataset_sha256(context);
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_EQ(sha, make_task("gsm8k", {{"apply_chat_template", true}})->dataset_sha256(context));
  EXPECT_NE(sha, make_task("gsm8k_cot", {})->dataset_sha256(context));
}

TEST(Gsm8k, Configs) {
  testing::expect_valid_task_config("gsm8k");
  testing::expect_valid_task_config("gsm8k_cot");
}

TEST(Gsm8k, MalformedInputNamesFileLineAndField) {
  auto dir = scratch_dir("gsm8k/malformed");
  auto context = make_context("gsm8k.lmeval");
  const std::string good = R"({"question": "q", "answer": "a #### 1"})";
  auto run = [&](const std::string& test_text, nlohmann::json extra = nlohmann::json::object()) {
    auto path = dir / "test.jsonl";
    testing::write_file(path, test_text);
    nlohmann::json params = {{"test_file", path.string()}, {"num_fewshot", 0}};
    params.update(extra);
    ErrorKind kind = ErrorKind::kInternal;
    std::string message = error_of([&] { make_task("gsm8k", params)->samples(context); }, &kind);
    if (!message.empty()) {
      EXPECT_EQ(kind, ErrorKind::kInput) << message;
    }
    return message;
  };
  std::string path = (dir / "test.jsonl").string();
  EXPECT_THAT(run(good + "\n{not json\n"), HasSubstr(path + ":2: invalid JSON"));
  EXPECT_THAT(run(good + "\n\n[1, 2]\n"), HasSubstr(path + ":3: expected a JSON object"));
  EXPECT_THAT(run(R"({"question": "q"})" "\n"), HasSubstr(path + ":1: missing field 'answer'"));
  EXPECT_THAT(run(good + "\n" + R"({"question": 5, "answer": "x"})"),
              HasSubstr(path + ":2: field 'question' must be a string"));
  EXPECT_THAT(run(""), HasSubstr(": no records"));
  // task.on_malformed=skip and the other cases: tests/datasets/test_malformed_input.cpp.
  // Missing files name the expected path.
  EXPECT_THAT(error_of([&] {
                make_task("gsm8k", {{"train_file", (dir / "absent.jsonl.gz").string()}})
                    ->samples(context);
              }),
              HasSubstr((dir / "absent.jsonl.gz").string()));
}

}  // namespace
}  // namespace kvbench
