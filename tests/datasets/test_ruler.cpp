// SPDX-License-Identifier: Apache-2.0
// RULER tasks: ruler.niah_* prompts equal a Python port of RULER's niah.py run with the same
// tokenizer (Llama 3.1 and Qwen 3 tokenizer.json through transformers' AutoTokenizer), base and
// meta-llama3 templates; sizing (prompt + tokens_to_generate <= max_seq_length); the word-key list;
// ruler.pregenerated loading the shipped 4k multikey_3 file and failing on malformed lines.
#include "datasets/ruler_niah_generator.h"
#include "harness/tokenizer/tokenizer.h"
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
using testing::write_file;
using ::testing::HasSubstr;

struct Config {
  std::string variant;
  int max_seq;
  int num_samples;
  int seed;
  std::string model_template;
};

const std::vector<Config> kConfigs = {
    {"niah_single_1", 4096, 2, 42, "base"},
    {"niah_multikey_2", 2000, 2, 7, "meta-llama3"},
    {"niah_multikey_3", 4096, 2, 42, "base"},
    {"niah_single_2", 4096, 2, 42, "base"},
    {"niah_single_3", 2048, 1, 42, "base"},
    {"niah_multikey_1", 4096, 1, 42, "base"},
    {"niah_multivalue", 4096, 1, 3, "meta-llama3"},
    {"niah_multiquery", 4096, 1, 42, "base"},
};

std::vector<Sample> ruler_samples(const Tokenizer& tok, const Config& c) {
  auto task = make_task("ruler." + c.variant, {{"max_seq_length", c.max_seq},
                                               {"num_samples", c.num_samples},
                                               {"random_seed", c.seed},
                                               {"model_template_type", c.model_template}});
  auto context = make_context("ruler.official");
  context.tokenizer = &tok;
  return task->samples(context);
}

class RulerParity : public ::testing::TestWithParam<std::string> {};

TEST_P(RulerParity, PromptsEqualPythonPortOfNiahPy) {
  const auto tok_dir = data_dir() / "tokenizers" / GetParam();
  Tokenizer tok = Tokenizer::load((tok_dir / "tokenizer.json").string());
  nlohmann::json configs = nlohmann::json::array();
  for (const auto& c : kConfigs)
    configs.push_back({{"variant", c.variant}, {"max_seq", c.max_seq}, {"num_samples", c.num_samples},
                       {"seed", c.seed}, {"model_template", c.model_template}});
  const auto dir = scratch_dir("ruler");
  write_file(dir / (GetParam() + "_configs.json"), configs.dump());
  const auto out = dir / (GetParam() + "_ref.json");
  ASSERT_EQ(run_python((source_dir() / "scripts/reference/ruler_niah_reference.py").string() + " " +
                       tok_dir.string() + " " + (data_dir() / "niah/ruler").string() + " " +
                       (dir / (GetParam() + "_configs.json")).string() + " " + out.string()),
            0);
  const nlohmann::json ref = read_json(out);
  ASSERT_EQ(ref.size(), kConfigs.size());
  for (size_t c = 0; c < kConfigs.size(); ++c) {
    auto samples = ruler_samples(tok, kConfigs[c]);
    ASSERT_EQ(samples.size(), ref[c].size()) << kConfigs[c].variant;
    for (size_t i = 0; i < samples.size(); ++i) {
      const Sample& s = samples[i];
      const auto& r = ref[c][i];
      const std::string what = kConfigs[c].variant + " sample " + std::to_string(i);
      EXPECT_EQ(s.metadata["input"].get<std::string>(), r["input"].get<std::string>()) << what;
      EXPECT_EQ(s.metadata["answer_prefix"].get<std::string>(), r["answer_prefix"].get<std::string>()) << what;
      EXPECT_EQ(s.raw_prompt, r["input"].get<std::string>() + r["answer_prefix"].get<std::string>()) << what;
      EXPECT_EQ(s.references, r["outputs"].get<std::vector<std::string>>()) << what;
      EXPECT_EQ(s.metadata["length"].get<int64_t>(), r["length"].get<int64_t>()) << what;
      EXPECT_EQ(s.metadata["token_position_answer"].get<int64_t>(), r["token_position_answer"].get<int64_t>()) << what;
      // RULER's budget: prompt tokens (template included) + tokens_to_generate <= max_seq_length,
      // and the binary search plus per-sample shrinking leave little of it unused.
      const auto prompt_tokens = static_cast<int64_t>(tok.encode(s.raw_prompt, false).size());
      EXPECT_EQ(prompt_tokens + 128, s.metadata["length"].get<int64_t>()) << what;
      EXPECT_LE(prompt_tokens + 128, kConfigs[c].max_seq) << what;
      // (essay: one shrink step is 500 words, about 700 tokens)
      const bool essay = s.metadata["num_haystack"].get<int64_t>() >= 500 &&
                         kConfigs[c].variant != "niah_single_1" && kConfigs[c].variant.find("multikey_2") == std::string::npos &&
                         kConfigs[c].variant.find("multikey_3") == std::string::npos;
      EXPECT_GE(prompt_tokens + 128, essay ? kConfigs[c].max_seq - 1000 : kConfigs[c].max_seq * 0.9) << what;
      EXPECT_EQ(s.max_new_tokens, 128);
      EXPECT_FALSE(s.use_chat_template);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, RulerParity, ::testing::Values("llama3-lenml_llama3_1", "qwen3"));

TEST(RulerNiah, PromptShapeTemplatesAndMetric) {
  Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers/llama3/tokenizer.json").string());
  auto single = ruler_samples(tok, {"niah_single_1", 1024, 3, 42, "base"});
  ASSERT_EQ(single.size(), 3u);
  EXPECT_EQ(single[0].id, "0");
  EXPECT_EQ(single[2].id, "2");
  for (const auto& s : single) {
    ASSERT_EQ(s.references.size(), 1u);
    EXPECT_EQ(s.references[0].size(), 7u);  // a 7-digit number
    EXPECT_THAT(s.raw_prompt, ::testing::StartsWith("A special magic number is hidden within the following text."));
    EXPECT_THAT(s.raw_prompt, HasSubstr("One of the special magic numbers for "));
    EXPECT_THAT(s.raw_prompt, HasSubstr(" is: " + s.references[0] + ".\n"));
    EXPECT_THAT(s.raw_prompt, HasSubstr("The grass is green. The sky is blue."));
    EXPECT_THAT(s.raw_prompt, ::testing::EndsWith(" mentioned in the provided text is"));
    EXPECT_EQ(s.metadata["bucket"], "1024");
  }
  auto llama = ruler_samples(tok, {"niah_multikey_3", 1500, 1, 42, "meta-llama3"});
  EXPECT_THAT(llama[0].raw_prompt, ::testing::StartsWith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nA special magic uuid"));
  EXPECT_THAT(llama[0].raw_prompt, HasSubstr("?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n The special magic uuid for "));
  EXPECT_THAT(llama[0].references[0], ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));

  auto context = make_context("ruler.official");
  for (const char* name : {"ruler.niah_single_1", "ruler.niah_single_2", "ruler.niah_single_3",
                           "ruler.niah_multikey_1", "ruler.niah_multikey_2", "ruler.niah_multikey_3",
                           "ruler.niah_multivalue", "ruler.niah_multiquery"}) {
    auto task = make_task(name, {});
    EXPECT_EQ(task->metrics(context), std::vector<std::string>{"ruler.string_match_all"});
    EXPECT_EQ(task->dataset_sha256(context).size(), 64u);
    EXPECT_THAT(error_of([&] { task->samples(context); }), HasSubstr("tokenizer"));
  }
  context.tokenizer = &tok;
  EXPECT_THAT(error_of([&] { make_task("ruler.niah_single_1", {{"model_template_type", "vicuna"}})->samples(context); }),
              HasSubstr("model_template_type"));
  EXPECT_THAT(error_of([&] { make_task("ruler.niah_single_1", {{"max_seq_length", 100}})->samples(context); }),
              HasSubstr("too short"));
}

TEST(RulerNiah, WordKeysAreSortedUniqueAdjectiveNounPairs) {
  const auto& words = RulerWordKeys::load(data_dir() / "niah/ruler/wonderwords");
  ASSERT_EQ(words.size(), 6171620u);  // 910 adjectives x 6782 nouns, as RULER's sorted(set(...))
  std::string previous = words.at(0);
  for (size_t i = 1; i < words.size(); ++i) {
    std::string current = words.at(i);
    ASSERT_LT(previous, current) << i;
    previous = std::move(current);
  }
  EXPECT_EQ(python_uuid4_string(0, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(python_uuid4_string(~0ULL, ~0ULL), "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

TEST(RulerNiah, Configs) {
  for (const char* name : {"ruler.niah_single_1", "ruler.niah_single_2", "ruler.niah_single_3",
                           "ruler.niah_multikey_1", "ruler.niah_multikey_2", "ruler.niah_multikey_3",
                           "ruler.niah_multivalue", "ruler.niah_multiquery", "ruler.pregenerated"})
    testing::expect_valid_task_config(name);
}

// --- ruler.pregenerated ---

std::vector<Sample> pregenerated(const std::filesystem::path& file, nlohmann::json params = nlohmann::json::object(),
                                 MalformedPolicy on_malformed = MalformedPolicy::kError,
                                 int64_t* skipped = nullptr) {
  params["file"] = file.string();
  TaskContext context = make_context("ruler.official");
  context.on_malformed = on_malformed;
  auto samples = make_task("ruler.pregenerated", params)->samples(context);
  if (skipped != nullptr) *skipped = context.malformed->skipped();
  return samples;
}

TEST(RulerPregenerated, LoadsTheShippedFile) {
  auto task = make_task("ruler.pregenerated", {});
  auto context = make_context("ruler.official");
  auto samples = task->samples(context);
  ASSERT_EQ(samples.size(), 500u);
  EXPECT_EQ(samples[0].id, "0");
  EXPECT_EQ(samples[499].id, "499");
  EXPECT_THAT(samples[0].raw_prompt, ::testing::StartsWith("A special magic uuid is hidden within the following text."));
  EXPECT_THAT(samples[0].raw_prompt, ::testing::EndsWith(" mentioned in the provided text is"));
  EXPECT_EQ(samples[0].references, std::vector<std::string>{"1ee34dc4-3b04-4a8b-805b-fdc94e7ed827"});
  EXPECT_EQ(samples[0].metadata["length"], 3181);
  EXPECT_EQ(samples[0].metadata["bucket"], "niah_multikey_3");
  EXPECT_EQ(samples[0].max_new_tokens, 128);
  EXPECT_FALSE(samples[0].use_chat_template);
  for (const auto& s : samples) EXPECT_NE(s.raw_prompt.find(s.references[0]), std::string::npos) << s.id;
  EXPECT_EQ(task->metrics(context), std::vector<std::string>{"ruler.string_match_all"});
  EXPECT_EQ(task->dataset_sha256(context), "c463a2a3b6754c538b8f006980b291d80b0506328b4de688368a3614205574d1");
}

TEST(RulerPregenerated, AnswerPrefixFamilyAndBudget) {
  const auto file = scratch_dir("ruler") / "qa_2.jsonl";
  write_file(file, R"({"index": 7, "input": "Q?", "outputs": ["a", "b"], "length": 10, "answer_prefix": " Answer:"})" "\n");
  auto samples = pregenerated(file);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].id, "7");
  EXPECT_EQ(samples[0].raw_prompt, "Q? Answer:");
  EXPECT_EQ(samples[0].max_new_tokens, 32);
  auto context = make_context("ruler.official");
  EXPECT_EQ(make_task("ruler.pregenerated", {{"file", file.string()}})->metrics(context),
            std::vector<std::string>{"ruler.string_match_part"});
  EXPECT_EQ(pregenerated(file, {{"tokens_to_generate", 64}})[0].max_new_tokens, 64);
  const auto odd = scratch_dir("ruler") / "mine.jsonl";
  write_file(odd, R"({"index": 0, "input": "x", "outputs": ["y"], "length": 1})" "\n");
  EXPECT_THAT(error_of([&] { pregenerated(odd); }), HasSubstr("task family"));
  EXPECT_EQ(pregenerated(odd, {{"family", "vt"}})[0].max_new_tokens, 30);
}

// One test per malformed-input case: file:line and the field are named.
class RulerPregeneratedMalformed : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(RulerPregeneratedMalformed, NamesFileLineAndField) {
  const auto file = scratch_dir("ruler") / ("niah_bad_" + std::to_string(std::hash<std::string>{}(GetParam().first)) + ".jsonl");
  write_file(file, std::string(R"({"index": 0, "input": "x", "outputs": ["y"], "length": 1})") + "\n\n" +
                       GetParam().first + "\n");
  ErrorKind kind = ErrorKind::kInternal;
  const std::string message = error_of([&] { pregenerated(file); }, &kind);
  EXPECT_THAT(message, HasSubstr(file.string() + ":3"));
  EXPECT_THAT(message, HasSubstr(GetParam().second));
  EXPECT_EQ(kind, ErrorKind::kInput);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RulerPregeneratedMalformed,
    ::testing::Values(
        std::make_pair(std::string(R"({"index": 1, "input": "x", "outputs": ["y"], "length": )"), std::string("invalid JSON")),
        std::make_pair(std::string(R"({"index": 1, "outputs": ["y"], "length": 1})"), std::string("'input'")),
        std::make_pair(std::string(R"({"index": 1, "input": "x", "length": 1})"), std::string("'outputs'")),
        std::make_pair(std::string(R"({"input": "x", "outputs": ["y"], "length": 1})"), std::string("'index'")),
        std::make_pair(std::string(R"({"index": 1, "input": "x", "outputs": ["y"]})"), std::string("'length'")),
        std::make_pair(std::string(R"({"index": 1, "input": 5, "outputs": ["y"], "length": 1})"), std::string("'input' must be a string")),
        std::make_pair(std::string(R"({"index": 1, "input": "x", "outputs": [3], "length": 1})"), std::string("'outputs' must hold strings")),
        std::make_pair(std::string(R"({"index": "1", "input": "x", "outputs": ["y"], "length": 1})"), std::string("'index' must be an integer")),
        std::make_pair(std::string(R"({"index": 0, "input": "x", "outputs": ["y"], "length": 1})"), std::string("'index' repeats"))));

TEST(RulerPregenerated, MissingFileAndSkipOption) {
  const auto missing = scratch_dir("ruler") / "niah_none.jsonl";
  EXPECT_THAT(error_of([&] { pregenerated(missing); }), HasSubstr(missing.string()));
  const auto file = scratch_dir("ruler") / "niah_skip.jsonl";
  // task.on_malformed: skip drops the unparsable line and the record missing 'outputs', counted.
  write_file(file, "{not json\n" R"({"index": 3, "input": "x", "outputs": ["y"], "length": 1})" "\n"
                   R"({"index": 4, "input": "x", "length": 1})" "\n");
  int64_t skipped = 0;
  auto samples = pregenerated(file, nlohmann::json::object(), MalformedPolicy::kSkip, &skipped);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].id, "3");
  EXPECT_EQ(skipped, 2);
  EXPECT_THAT(error_of([&] { pregenerated(file); }), HasSubstr(":1:"));
}

}  // namespace
}  // namespace kvbench
