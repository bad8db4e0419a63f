// SPDX-License-Identifier: Apache-2.0
// needlebench.multi_retrieval: prompts equal a Python port of OpenCompass's NeedleBench v2 parallel
// loader run with the same tokenizer (Llama 3.1 and Qwen 3 tokenizer.json through the `tokenizers`
// library), before and after the chat template; answers feed needlebench.multi_retrieval; lengths.
#include "harness/tokenizer/chat_template.h"
#include "harness/tokenizer/tokenizer.h"
#include "metrics/needlebench_multi_retrieval.h"
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

const std::vector<int> kDepths = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};

std::vector<Sample> needle_samples(const Tokenizer& tok, const nlohmann::json& params) {
  auto task = make_task("needlebench.multi_retrieval", params);
  auto context = make_context("needlebench.opencompass");
  context.tokenizer = &tok;
  return task->samples(context);
}

class NeedleBenchParity : public ::testing::TestWithParam<std::string> {};

TEST_P(NeedleBenchParity, PromptsEqualPythonPortOfParallelPy) {
  const auto tok_dir = data_dir() / "tokenizers" / GetParam();
  Tokenizer tok = Tokenizer::load((tok_dir / "tokenizer.json").string());
  const auto out = scratch_dir("needlebench") / (GetParam() + ".json");
  ASSERT_EQ(run_python((source_dir() / "scripts/reference/needlebench_prompts.py").string() + " " +
                       (data_dir() / "niah/needlebench").string() + " " + tok_dir.string() +
                       " 4000,16000 0,10,20,30,40,50,60,70,80,90,100 3000 3 5 " + out.string()),
            0);
  const nlohmann::json ref = read_json(out);
  auto samples = needle_samples(tok, {{"lengths", {4000, 16000}}, {"num_repeats_per_file", 3}, {"needle_seed", 5}});
  ASSERT_EQ(samples.size(), ref.size());
  ASSERT_EQ(samples.size(), 6u);
  const ChatTemplate chat = ChatTemplate::load(tok_dir.string());
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    EXPECT_EQ(s.id, "len" + std::to_string(ref[i]["length"].get<int>()) + "_r" + std::to_string(ref[i]["repeat"].get<int>()));
    ASSERT_EQ(s.messages.size(), 1u);
    EXPECT_EQ(s.messages[0].role, "user");
    EXPECT_EQ(s.messages[0].content, ref[i]["prompt"].get<std::string>()) << s.id;
    EXPECT_EQ(s.references, std::vector<std::string>{ref[i]["answer"].get<std::string>()}) << s.id;
    EXPECT_EQ(chat.render(s.messages), ref[i]["chat"].get<std::string>()) << s.id;
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, NeedleBenchParity, ::testing::Values("llama3-lenml_llama3_1", "qwen3"));

TEST(NeedleBench, NeedlesDepthsLengthAndScoring) {
  Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers/qwen3/tokenizer.json").string());
  auto samples = needle_samples(tok, {{"lengths", {8000}}, {"num_repeats_per_file", 2}});
  ASSERT_EQ(samples.size(), 2u);
  for (const auto& s : samples) {
    EXPECT_EQ(s.max_new_tokens, 1024);
    EXPECT_EQ(s.metadata["bucket"], "len8000");
    const NeedleAnswer answer = parse_needle_answer(s.references[0]);
    ASSERT_EQ(answer.keywords.size(), 11u);
    EXPECT_EQ(answer.depths, kDepths);
    const std::string& prompt = s.messages[0].content;
    EXPECT_THAT(prompt, ::testing::StartsWith("This is a test of long-text capability."));
    EXPECT_THAT(prompt, HasSubstr("Please answer in the format of '"));
    // Every keyword sits in the document, in depth order.
    size_t last = 0;
    for (const auto& keyword : answer.keywords) {
      size_t at = prompt.find(keyword);
      ASSERT_NE(at, std::string::npos) << keyword;
      EXPECT_GE(at, last) << keyword;
      last = at;
    }
    // Budget: the context plus needles are length - 3000 tokens (re-encoding may merge a few).
    const std::string doc = prompt.substr(prompt.find("<Document>\n") + 11);
    const auto n = static_cast<int64_t>(tok.encode(doc.substr(0, doc.find("\n</Document>")), false).size());
    EXPECT_NEAR(static_cast<double>(n), 5000.0, 20.0);
    // The scorer finds all keywords in a perfect answer.
    std::string perfect;
    for (const auto& k : answer.keywords) perfect += k + "; ";
    EXPECT_EQ(needlebench_scores({perfect}, s.references).back().second, 100.0);
  }
  EXPECT_NE(samples[0].references, samples[1].references);  // repeats reshuffle the needles
  auto context = make_context("needlebench.opencompass");
  auto task = make_task("needlebench.multi_retrieval", {});
  EXPECT_EQ(task->metrics(context), std::vector<std::string>{"needlebench.multi_retrieval"});
  EXPECT_EQ(task->dataset_sha256(context).size(), 64u);
  EXPECT_THAT(error_of([&] { task->samples(context); }), HasSubstr("tokenizer"));
}

TEST(NeedleBench, Config) { testing::expect_valid_task_config("needlebench.multi_retrieval"); }

TEST(NeedleBench, MalformedEssayRecordNamesFileLineAndField) {
  const auto dir = scratch_dir("needlebench") / "bad";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(data_dir() / "niah/needlebench/needles.jsonl", dir / "needles.jsonl",
                             std::filesystem::copy_options::overwrite_existing);
  testing::write_file(dir / "essays.jsonl", "{\"title\": \"a\", \"text\": \"x\"}\n{\"title\": \"b\"}\n");
  Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers/qwen3/tokenizer.json").string());
  const std::string message = error_of([&] {
    needle_samples(tok, {{"lengths", {4000}}, {"data_dir", dir.string()}, {"essays_file", "essays.jsonl"}});
  });
  EXPECT_THAT(message, HasSubstr((dir / "essays.jsonl").string() + ":2"));
  EXPECT_THAT(message, HasSubstr("'text'"));
}

}  // namespace
}  // namespace kvbench
