// SPDX-License-Identifier: Apache-2.0
// niah.classic: contexts equal a Python port of the original tester run with the same tokenizer
// (Hugging Face tokenizers, Llama 3 and Qwen 3 tokenizer.json); grid, buckets, prompt turns,
// sentence-boundary insertion, budget; errors for a missing tokenizer or haystack.
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
using ::testing::HasSubstr;

const std::string kNeedle =
    "\nThe best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.\n";

std::vector<Sample> niah_samples(const Tokenizer& tok, const nlohmann::json& params) {
  auto task = make_task("niah.classic", params);
  auto context = make_context("niah.gkamradt");
  context.tokenizer = &tok;
  return task->samples(context);
}

class NiahParity : public ::testing::TestWithParam<std::string> {};

TEST_P(NiahParity, ContextsEqualPythonPortOfTheOriginal) {
  auto tok_path = data_dir() / "tokenizers" / GetParam() / "tokenizer.json";
  Tokenizer tok = Tokenizer::load(tok_path.string());
  const std::vector<int> lengths = {1000, 3000, 7000};
  const std::vector<double> depths = {0, 10, 33.3, 50, 91, 100};
  auto samples = niah_samples(tok, {{"context_lengths", lengths}, {"depth_percents", depths}});
  ASSERT_EQ(samples.size(), lengths.size() * depths.size());

  auto out = scratch_dir("niah") / (GetParam() + ".json");
  ASSERT_EQ(run_python((source_dir() / "scripts/reference/niah_classic_contexts.py").string() + " " +
                       tok_path.string() + " " + (data_dir() / "niah/paul_graham_essays").string() +
                       " 1000,3000,7000 0,10,33.3,50,91,100 200 " + out.string()),
            0);
  nlohmann::json ref = read_json(out);
  ASSERT_EQ(ref.size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    EXPECT_EQ(s.metadata["context_length"].get<int>(), ref[i]["length"].get<int>());
    EXPECT_EQ(s.metadata["depth_percent"].get<double>(), ref[i]["depth"].get<double>());
    ASSERT_EQ(s.messages.size(), 3u);
    EXPECT_EQ(s.messages[1].content, ref[i]["context"].get<std::string>()) << s.id;
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, NiahParity, ::testing::Values("llama3", "qwen3"));

TEST(NiahClassic, GridPromptAndInsertion) {
  Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers/llama3/tokenizer.json").string());
  auto samples = niah_samples(tok, {{"context_lengths", {2000, 5000}}, {"depth_percents", {0, 12.5, 50, 100}}});
  ASSERT_EQ(samples.size(), 8u);
  EXPECT_EQ(samples[0].id, "len2000_depth0");
  EXPECT_EQ(samples[1].id, "len2000_depth12.5");
  EXPECT_EQ(samples[7].metadata["bucket"], "len5000_depth100");
  for (const auto& s : samples) {
    ASSERT_EQ(s.messages.size(), 3u);
    EXPECT_EQ(s.messages[0].role, "system");
    EXPECT_EQ(s.messages[0].content,
              "You are a helpful AI bot that answers questions for a user. Keep your response short and direct");
    EXPECT_EQ(s.messages[2].content,
              "What is the best thing to do in San Francisco? Don't give information outside the "
              "document or repeat your findings");
    EXPECT_EQ(s.references, std::vector<std::string>{"eat a sandwich and sit in Dolores Park on a sunny day"});
    EXPECT_EQ(s.max_new_tokens, 300);
    const std::string& ctx = s.messages[1].content;
    size_t at = ctx.find(kNeedle);
    ASSERT_NE(at, std::string::npos) << s.id;
    EXPECT_EQ(ctx.find(kNeedle, at + 1), std::string::npos) << s.id;
    // Budget: the context (haystack + needle) fits in L - 200 tokens (re-encoding may merge a few).
    int64_t length = s.metadata["context_length"].get<int64_t>();
    auto n = static_cast<int64_t>(tok.encode(ctx, false).size());
    EXPECT_LE(n, length - 200 + 2) << s.id;
    EXPECT_GE(n, length - 200 - 5) << s.id;
    double depth = s.metadata["depth_percent"].get<double>();
    if (depth == 0) {
      EXPECT_EQ(at, 0u);
    }
    if (depth == 100) {
      EXPECT_EQ(at + kNeedle.size(), ctx.size());
    }
    if (depth > 0 && depth < 100) {
      EXPECT_EQ(ctx[at - 1], '.') << s.id;  // sentence boundary
      double frac = static_cast<double>(s.metadata["needle_token_offset"].get<int64_t>()) /
                    s.metadata["haystack_tokens"].get<double>();
      EXPECT_LE(frac, depth / 100.0 + 1e-9);
      EXPECT_GT(frac, depth / 100.0 - 0.05) << s.id;  // a sentence is far shorter than 5% of L
    }
  }
}

TEST(NiahClassic, Config) { testing::expect_valid_task_config("niah.classic"); }

TEST(NiahClassic, DefaultsAreTheOriginalGridAndErrorsAreClear) {
  nlohmann::json resolved;
  auto task = make_task("niah.classic", {}, &resolved);
  // The original's defaults, computed by numpy at test time.
  auto grid = scratch_dir("niah") / "default_grid.json";
  ASSERT_EQ(run_python("-c 'import json, sys, numpy as np; r = lambda a, b: "
                       "[int(x) for x in np.round(np.linspace(a, b, num=35, endpoint=True)).astype(int)]; "
                       "json.dump({\"lengths\": r(1000, 16000), \"depths\": r(0, 100)}, open(sys.argv[1], \"w\"))' " +
                       grid.string()),
            0);
  nlohmann::json numpy_grid = read_json(grid);
  EXPECT_EQ(resolved["context_lengths"], numpy_grid["lengths"]);
  EXPECT_EQ(resolved["depth_percents"], numpy_grid["depths"]);
  ASSERT_EQ(resolved["context_lengths"].size(), 35u);
  EXPECT_EQ(resolved["context_lengths"][0], 1000);
  EXPECT_EQ(resolved["context_lengths"][1], 1441);  // round(1000 + 15000/34)
  EXPECT_EQ(resolved["context_lengths"][34], 16000);
  EXPECT_EQ(resolved["depth_percents"][1], 3);
  EXPECT_EQ(resolved["depth_percents"][17], 50);
  auto context = make_context("niah.gkamradt");
  EXPECT_EQ(task->metrics(context), std::vector<std::string>{"ruler.string_match_all"});
  EXPECT_THAT(error_of([&] { task->samples(context); }), HasSubstr("tokenizer"));
  std::string sha = task->dataset_sha256(context);
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_NE(sha, make_task("niah.classic", {{"needle", "x"}})->dataset_sha256(context));

  Tokenizer tok = Tokenizer::load((data_dir() / "tokenizers/llama3/tokenizer.json").string());
  context.tokenizer = &tok;
  auto missing = scratch_dir("niah") / "no_such_dir";
  ErrorKind kind = ErrorKind::kInternal;
  EXPECT_THAT(error_of([&] {
                make_task("niah.classic", {{"haystack_dir", missing.string()}, {"context_lengths", {1000}}})
                    ->samples(context);
              }, &kind),
              HasSubstr(missing.string()));
  EXPECT_EQ(kind, ErrorKind::kInput);
  EXPECT_THAT(error_of([&] { make_task("niah.classic", {{"context_lengths", {210}}})->samples(context); }),
              HasSubstr("leaves no room"));
  EXPECT_THAT(error_of([&] {
                make_task("niah.classic", {{"context_lengths", {1000}}, {"depth_percents", {50, 50.0}}})->samples(context);
              }),
              HasSubstr("repeats"));
}

}  // namespace
}  // namespace kvbench
