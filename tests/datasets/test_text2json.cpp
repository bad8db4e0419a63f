// SPDX-License-Identifier: Apache-2.0
// text2json.official: loading, missing file (names the expected path), malformed lines.
// text2json.synthetic: determinism in (seed, length, domain); every gold value occurs in the
// document; lengths within 2% of the target in tokens of the real Llama 3 and Qwen 3 tokenizers.
#include "harness/hashing.h"
#include "harness/tokenizer/tokenizer.h"
#include "tests/datasets/task_test_support.h"

#include <gmock/gmock.h>

#include <chrono>
#include <set>

namespace kvbench {
namespace {

using testing::data_dir;
using testing::error_of;
using testing::make_context;
using testing::make_task;
using testing::scratch_dir;
using testing::write_file;
using ::testing::HasSubstr;

TEST(Text2JsonOfficial, LoadsProblemAndAnswer) {
  auto path = scratch_dir("text2json") / "official.jsonl";
  write_file(path,
             R"({"problem": "Extract products.\nText: A costs $1.", "answer": "[{\"name\": \"A\", \"price\": \"$1\", \"weight\": \"1 g\"}]"})"
             "\n\n"
             R"({"problem": "second", "answer": "[]", "extra": 1})"
             "\n");
  auto task = make_task("text2json.official", {{"file", path.string()}});
  auto context = make_context("text2json.official");
  auto samples = task->samples(context);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].id, "0");
  EXPECT_EQ(samples[1].id, "1");
  ASSERT_EQ(samples[0].messages.size(), 1u);
  EXPECT_EQ(samples[0].messages[0].role, "user");
  EXPECT_EQ(samples[0].messages[0].content, "Extract products.\nText: A costs $1.");
  EXPECT_TRUE(samples[0].use_chat_template);
  EXPECT_EQ(samples[0].references[0], R"([{"name": "A", "price": "$1", "weight": "1 g"}])");
  EXPECT_EQ(samples[0].max_new_tokens, 1024);
  EXPECT_EQ(samples[1].metadata["line"], 3);
  EXPECT_EQ(task->metrics(context), std::vector<std::string>{"text2json.iou"});
  EXPECT_EQ(task->dataset_sha256(context), sha256_file_hex(path));

  Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers/llama3/tokenizer.json").string());
  context.tokenizer = &tok;
  auto with_tokens = task->samples(context);
  EXPECT_EQ(with_tokens[1].metadata["prompt_tokens"], 1);
  EXPECT_EQ(with_tokens[1].metadata["bucket"], "<16k");
}

TEST(Text2JsonOfficial, MissingFileNamesTheExpectedPath) {
  auto context = make_context("text2json.official");
  ErrorKind kind = ErrorKind::kInternal;
  auto task = make_task("text2json.official", {});
  std::string message = error_of([&] { task->samples(context); }, &kind);
  EXPECT_THAT(message, HasSubstr((data_dir() / "text2json/text2json.jsonl").string()));
  EXPECT_THAT(message, HasSubstr("text2json.synthetic"));
  EXPECT_EQ(kind, ErrorKind::kInput);
  EXPECT_THAT(error_of([&] { task->dataset_sha256(context); }), HasSubstr("not found"));
}

TEST(Text2JsonOfficial, MalformedInputNamesFileLineAndField) {
  auto path = scratch_dir("text2json") / "bad.jsonl";
  auto context = make_context("text2json.official");
  const std::string good = R"({"problem": "p", "answer": "[]"})";
  auto run = [&](const std::string& text) {
    write_file(path, text);
    ErrorKind kind = ErrorKind::kInternal;
    std::string message = error_of(
        [&] { make_task("text2json.official", {{"file", path.string()}})->samples(context); }, &kind);
    if (!message.empty()) {
      EXPECT_EQ(kind, ErrorKind::kInput) << message;
    }
    return message;
  };
  EXPECT_THAT(run(good + "\n{\"problem\": \n"), HasSubstr(path.string() + ":2: invalid JSON"));
  EXPECT_THAT(run(good + "\n\"just a string\"\n"), HasSubstr(path.string() + ":2: expected a JSON object"));
  EXPECT_THAT(run(R"({"problem": "p"})"), HasSubstr(path.string() + ":1: missing field 'answer'"));
  EXPECT_THAT(run(good + "\n" + R"({"answer": "[]"})"), HasSubstr(path.string() + ":2: missing field 'problem'"));
  EXPECT_THAT(run(R"({"problem": "p", "answer": [1]})"),
              HasSubstr(path.string() + ":1: field 'answer' must be a string, got array"));
  // task.on_malformed=skip and the other cases: tests/datasets/test_malformed_input.cpp.
}

struct Generated {
  std::vector<Sample> samples;
  double seconds = 0;
};

Generated generate(const Tokenizer& tok, const nlohmann::json& params) {
  auto task = make_task("text2json.synthetic", params);
  auto context = make_context("text2json.synthetic");
  context.tokenizer = &tok;
  auto start = std::chrono::steady_clock::now();
  Generated g;
  g.samples = task->samples(context);
  g.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return g;
}

class Text2JsonSynthetic : public ::testing::TestWithParam<std::string> {};

TEST_P(Text2JsonSynthetic, LengthsGoldAndDistractors) {
  Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers" / GetParam() / "tokenizer.json").string());
  const std::vector<int> targets = {1024, 4096, 16384, 65536};
  Generated g = generate(tok, {{"target_tokens", targets}, {"samples_per_cell", 2}, {"seed", 7}});
  ASSERT_EQ(g.samples.size(), 4u * targets.size() * 2u);
  std::cout << GetParam() << ": generated " << g.samples.size() << " samples in " << g.seconds << " s\n";
  double worst = 0;
  for (const auto& s : g.samples) {
    ASSERT_EQ(s.messages.size(), 1u);
    const std::string& problem = s.messages[0].content;
    // Length: recounted independently, within 2% of the target.
    const auto target = s.metadata["target_tokens"].get<int64_t>();
    const auto tokens = static_cast<int64_t>(tok.encode(problem, false).size());
    EXPECT_EQ(tokens, s.metadata["prompt_tokens"].get<int64_t>()) << s.id;
    double error = std::abs(static_cast<double>(tokens - target)) / static_cast<double>(target);
    worst = std::max(worst, error);
    EXPECT_LE(error, 0.02) << s.id << ": " << tokens << " tokens for target " << target;
    // Gold: a list of {name, k1, k2} string objects with distinct names, every value in the text.
    nlohmann::json gold = nlohmann::json::parse(s.references.at(0));
    ASSERT_TRUE(gold.is_array());
    EXPECT_GE(gold.size(), 3u);
    std::set<std::string> names;
    for (const auto& object : gold) {
      ASSERT_EQ(object.size(), 3u) << object.dump();
      ASSERT_TRUE(object.contains("name"));
      for (const auto& [key, value] : object.items()) {
        ASSERT_TRUE(value.is_string()) << object.dump();
        const std::string v = value.get<std::string>();
        EXPECT_NE(problem.find(v), std::string::npos) << s.id << ": gold " << key << " '" << v << "' not in the text";
        EXPECT_EQ(v.find_first_of("[]"), std::string::npos) << v;
      }
      EXPECT_TRUE(names.insert(object["name"].get<std::string>()).second) << "duplicate name in " << s.id;
    }
    EXPECT_EQ(s.metadata["entities"].get<size_t>(), gold.size());
    EXPECT_GE(s.metadata["mentions_without_attributes"].get<int>(), 1);
    EXPECT_GE(s.metadata["near_misses"].get<int>(), 1);
    EXPECT_EQ(s.metadata["generator_version"], "text2json.synthetic/1");
    EXPECT_EQ(s.metadata["seed"], 7);
    EXPECT_EQ(s.metadata["bucket"], "len" + std::to_string(target));
    EXPECT_EQ(s.max_new_tokens, 1024);
  }
  std::cout << GetParam() << ": worst relative length error " << worst << "\n";
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, Text2JsonSynthetic, ::testing::Values("llama3", "qwen3"));

TEST(Text2JsonSyntheticDeterminism, SameSeedSameSamplesOtherSeedOtherSamples) {
  Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers/llama3/tokenizer.json").string());
  nlohmann::json params = {{"target_tokens", {2048}}, {"samples_per_cell", 2}, {"seed", 11}};
  auto a = generate(tok, params).samples;
  auto b = generate(tok, params).samples;
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].messages[0].content, b[i].messages[0].content);
    EXPECT_EQ(a[i].references, b[i].references);
    EXPECT_EQ(a[i].metadata, b[i].metadata);
  }
  // One domain alone gives the same samples as within the full set (per-sample seeds).
  auto only = generate(tok, {{"target_tokens", {2048}}, {"samples_per_cell", 2}, {"seed", 11},
                             {"domains", {"movies"}}}).samples;
  ASSERT_EQ(only.size(), 2u);
  EXPECT_EQ(only[0].messages[0].content, a[6].messages[0].content);
  EXPECT_NE(a[0].messages[0].content, a[1].messages[0].content);  // index varies the sample
  auto other = generate(tok, {{"target_tokens", {2048}}, {"samples_per_cell", 2}, {"seed", 12}}).samples;
  EXPECT_NE(other[0].messages[0].content, a[0].messages[0].content);
  EXPECT_NE(other[0].references, a[0].references);

  auto task = make_task("text2json.synthetic", params);
  auto context = make_context("text2json.synthetic");
  EXPECT_EQ(task->dataset_sha256(context), make_task("text2json.synthetic", params)->dataset_sha256(context));
  EXPECT_NE(task->dataset_sha256(context),
            make_task("text2json.synthetic", {{"target_tokens", {2048}}, {"seed", 12}})->dataset_sha256(context));
  EXPECT_EQ(task->metrics(context), std::vector<std::string>{"text2json.iou"});
}

TEST(Text2Json, Configs) {
  testing::expect_valid_task_config("text2json.official");
  testing::expect_valid_task_config("text2json.synthetic");
}

TEST(Text2JsonSyntheticErrors, ClearMessages) {
  auto context = make_context("text2json.synthetic");
  EXPECT_THAT(error_of([&] { make_task("text2json.synthetic", {})->samples(context); }), HasSubstr("tokenizer"));
  EXPECT_THAT(error_of([&] { make_task("text2json.synthetic", {{"domains", {"films"}}}); }),
              HasSubstr("films"));
  EXPECT_THAT(error_of([&] { make_task("text2json.synthetic", {{"domains", {"movies", "movies"}}}); }),
              HasSubstr("listed twice"));
  EXPECT_THAT(error_of([&] { make_task("text2json.synthetic", {{"target_tokens", {1024, 1024}}}); }),
              HasSubstr("repeated"));
  Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers/llama3/tokenizer.json").string());
  context.tokenizer = &tok;
  ErrorKind kind = ErrorKind::kInternal;
  EXPECT_THAT(error_of([&] {
                make_task("text2json.synthetic", {{"target_tokens", {300}}, {"entities", 30}})->samples(context);
              }, &kind),
              HasSubstr("too small"));
  EXPECT_EQ(kind, ErrorKind::kConfig);
}

}  // namespace
}  // namespace kvbench
