// SPDX-License-Identifier: Apache-2.0
// longproc.html_to_tsv: prompts equal LongProc's own construction (prompts.yaml via PyYAML,
// str.format(**item)) run in Python, before and after the Qwen 3 chat template (transformers'
// apply_chat_template); budgets per output group; malformed lines name file:line and the field.
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
using testing::write_file;
using ::testing::HasSubstr;

std::vector<Sample> longproc_samples(const nlohmann::json& params) {
  return make_task("longproc.html_to_tsv", params)->samples(make_context("longproc.official"));
}

class LongProcParity : public ::testing::TestWithParam<std::string> {};

TEST_P(LongProcParity, PromptsEqualLongProcLoader) {
  const std::string group = GetParam();
  const auto tok_dir = data_dir() / "tokenizers/qwen3";
  const auto out = scratch_dir("longproc") / ("ref_" + group + ".json");
  const int limit = 4;
  ASSERT_EQ(run_python((source_dir() / "scripts/reference/longproc_prompts.py").string() + " " +
                       (data_dir() / "text2json/longproc_html_to_tsv").string() + " " + group + " " +
                       std::to_string(limit) + " " + tok_dir.string() + " " + out.string()),
            0);
  const nlohmann::json ref = read_json(out);
  auto samples = longproc_samples({{"group", group}});
  ASSERT_EQ(ref.size(), static_cast<size_t>(limit));
  ASSERT_GE(samples.size(), ref.size());
  const ChatTemplate chat = ChatTemplate::load(tok_dir.string());
  for (size_t i = 0; i < ref.size(); ++i) {
    const Sample& s = samples[i];
    EXPECT_EQ(s.id, ref[i]["task_id"].get<std::string>());
    ASSERT_EQ(s.messages.size(), 1u);
    EXPECT_EQ(s.messages[0].role, "user");
    EXPECT_EQ(s.messages[0].content, ref[i]["prompt"].get<std::string>()) << s.id;
    EXPECT_EQ(s.references, std::vector<std::string>{ref[i]["reference"].get<std::string>()});
    EXPECT_TRUE(s.use_chat_template);
    EXPECT_EQ(chat.render(s.messages), ref[i]["chat"].get<std::string>()) << s.id;
  }
}

INSTANTIATE_TEST_SUITE_P(Groups, LongProcParity, ::testing::Values("0.5k", "8k"));

TEST(LongProc, GroupsBudgetsAndMetric) {
  const std::pair<const char*, int> groups[] = {{"0.5k", 1024}, {"2k", 3072}, {"8k", 9216}};
  const size_t counts[] = {100, 189, 120};
  for (size_t g = 0; g < 3; ++g) {
    auto samples = longproc_samples({{"group", groups[g].first}});
    ASSERT_EQ(samples.size(), counts[g]) << groups[g].first;
    EXPECT_EQ(samples[0].max_new_tokens, groups[g].second);
    EXPECT_EQ(samples[0].metadata["bucket"], groups[g].first);
    EXPECT_THAT(samples[0].messages[0].content, ::testing::StartsWith("[TASK]\nYour task is to extract"));
    EXPECT_THAT(samples[0].messages[0].content, HasSubstr("```tsv\n"));
    EXPECT_THAT(samples[0].messages[0].content, HasSubstr("\n{Your TSV output}\n```"));
  }
  EXPECT_EQ(longproc_samples({{"group", "2k"}, {"max_new_tokens", 500}})[0].max_new_tokens, 500);
  auto task = make_task("longproc.html_to_tsv", {});
  auto context = make_context("longproc.official");
  EXPECT_EQ(task->metrics(context), std::vector<std::string>{"longproc.html_to_tsv"});
  EXPECT_EQ(task->dataset_sha256(context).size(), 64u);
  EXPECT_THAT(error_of([&] { make_task("longproc.html_to_tsv", {{"group", "4k"}}); }), HasSubstr("group"));
}

TEST(LongProc, Config) { testing::expect_valid_task_config("longproc.html_to_tsv"); }

// Malformed input: one case per test, each naming file:line and the field.
std::string record(const std::string& drop, const std::string& replace_key = "", const std::string& value = "") {
  nlohmann::json r = {{"task_id", "T1"}, {"website_id", "W1"}, {"task_topic", "t"}, {"task_description", "d"},
                      {"tsv_header", "a\tb"}, {"filtering_instruction", ""}, {"html", "<p>x</p>"}, {"gt", "a\tb\n1\t2"}};
  if (!drop.empty()) r.erase(drop);
  if (!replace_key.empty()) r[replace_key] = nlohmann::json::parse(value);
  return r.dump();
}

std::string malformed_error(const std::string& second_line, std::string* file_out) {
  const auto dir = scratch_dir("longproc") / ("bad" + std::to_string(std::hash<std::string>{}(second_line)));
  write_file(dir / "prompts.yaml", "USER_PROMPT: |-\n  page {html_str} topic {task_topic}\n");
  nlohmann::json first = nlohmann::json::parse(record(""));
  first["task_id"] = "T0";
  write_file(dir / "html_to_tsv_0.5k.jsonl", first.dump() + "\n" + second_line + "\n");
  // read_jsonl opens .gz files through zlib, which reads plain files too.
  std::filesystem::rename(dir / "html_to_tsv_0.5k.jsonl", dir / "html_to_tsv_0.5k.jsonl.gz");
  *file_out = (dir / "html_to_tsv_0.5k.jsonl.gz").string();
  return error_of([&] { longproc_samples({{"group", "0.5k"}, {"data_dir", dir.string()}}); });
}

TEST(LongProcMalformed, InvalidJsonLine) {
  std::string file;
  std::string message = malformed_error("{\"task_id\": ", &file);
  EXPECT_THAT(message, HasSubstr(file + ":2"));
  EXPECT_THAT(message, HasSubstr("invalid JSON"));
}

TEST(LongProcMalformed, MissingHtmlField) {
  std::string file;
  std::string message = malformed_error(record("html"), &file);
  EXPECT_THAT(message, HasSubstr(file + ":2"));
  EXPECT_THAT(message, HasSubstr("'html'"));
}

TEST(LongProcMalformed, MissingGoldField) {
  std::string file;
  std::string message = malformed_error(record("gt"), &file);
  EXPECT_THAT(message, HasSubstr(file + ":2"));
  EXPECT_THAT(message, HasSubstr("'gt'"));
}

TEST(LongProcMalformed, NonStringField) {
  std::string file;
  std::string message = malformed_error(record("", "tsv_header", "[1]"), &file);
  EXPECT_THAT(message, HasSubstr(file + ":2"));
  EXPECT_THAT(message, HasSubstr("'tsv_header' must be a string"));
}

TEST(LongProcMalformed, RepeatedTaskId) {
  std::string file;
  std::string message = malformed_error(record("", "task_id", "\"T0\""), &file);
  EXPECT_THAT(message, HasSubstr(file + ":2"));
  EXPECT_THAT(message, HasSubstr("'task_id' repeats"));
}

TEST(LongProcMalformed, MissingPromptFile) {
  const auto dir = scratch_dir("longproc") / "no_prompts";
  write_file(dir / "html_to_tsv_0.5k.jsonl.gz", record("") + "\n");
  std::filesystem::remove(dir / "prompts.yaml");
  EXPECT_THAT(error_of([&] { longproc_samples({{"group", "0.5k"}, {"data_dir", dir.string()}}); }),
              HasSubstr((dir / "prompts.yaml").string()));
}

}  // namespace
}  // namespace kvbench
