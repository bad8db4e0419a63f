// SPDX-License-Identifier: Apache-2.0
// LongBench prompt parity: every task's rendered prompt (format, middle truncation, chat-template
// policy, template, ids) is byte-identical to THUDM/LongBench pred.py's recipe run with
// transformers at test time (scripts/reference/longbench_prompts.py), for the Llama 3.1 and Qwen 3
// tokenizers and templates: the 3 real files (first records) and synthetic records for the other
// 18 datasets (one short, one truncated each), plus LongBench-E files found by the default path.
#include "tests/datasets/longbench_test_support.h"

#include <gmock/gmock.h>

#include <map>
#include <memory>

namespace kvbench {
namespace {

using namespace kvbench::testing;

struct Model {
  std::string name;
  std::filesystem::path tokenizer_dir;
  std::string jinja;           // "" = the tokenizer folder's own template
  nlohmann::json template_vars;
  ChatTemplateOptions options;
};

std::vector<Model> models() {
  const auto t = data_dir() / "tokenizers";
  Model llama{"llama3.1", t / "llama3-lenml_llama3_1",
              (t / "chat_templates/meta-llama-Llama-3.1-8B-Instruct.jinja").string(),
              {{"date_string", "26 Jul 2024"}}, {}};
  Model qwen{"qwen3", t / "qwen3", "", nlohmann::json::object(), {}};
  Model qwen_nothink{"qwen3-nothink", t / "qwen3", "", {{"enable_thinking", false}}, {}};
  qwen_nothink.options.enable_thinking = false;
  return {llama, qwen, qwen_nothink};
}

struct Case {
  std::string name, task, dataset;
  std::filesystem::path file;
  std::filesystem::path data_root;   // for default-path cases
  bool default_path = false;
  int limit = 0;
  int64_t max_length = 0;
  const Model* model = nullptr;
};

TEST(LongBenchPrompts, ByteIdenticalToOfficialRecipeWithTransformers) {
  const auto scratch = scratch_dir("longbench_prompts");
  const auto config_dir = data_dir() / "longbench/config";
  const auto model_list = models();
  std::vector<Case> cases;
  // Real files: first records, truncated to 3500 tokens (llama2-7b-chat-4k's model2maxlen).
  for (const std::string ds : {"multi_news", "multifieldqa_zh", "passage_retrieval_zh"})
    for (const auto& m : model_list) {
      if (m.name == "qwen3" && ds != "multi_news") continue;
      cases.push_back({"real-" + ds + "-" + m.name, "longbench." + ds, ds,
                       data_dir() / "longbench/data" / (ds + ".jsonl.gz"), {}, false, 6, 3500, &m});
    }
  // Synthetic records for every other dataset, truncated to 1500 tokens.
  for (const std::string& name : longbench_task_names()) {
    const bool e = name.rfind("longbench_e.", 0) == 0;
    const std::string ds = name.substr(name.find('.') + 1);
    if (ds == "multi_news" || ds == "multifieldqa_zh" || ds == "passage_retrieval_zh") continue;
    if (e && ds != "trec" && ds != "qasper") continue;  // LongBench-E: same recipe, two checked
    const auto root = scratch / "data_root";
    const auto file = root / "longbench/data" / (ds + (e ? "_e" : "") + ".jsonl");
    write_jsonl(file, synthetic_records(ds));
    for (const auto& m : model_list) {
      if (m.name == "qwen3-nothink") continue;
      cases.push_back({"syn-" + name + "-" + m.name, name, ds, file, root, e, 0, 1500, &m});
    }
  }

  nlohmann::json case_json = nlohmann::json::array();
  for (const auto& c : cases)
    case_json.push_back({{"name", c.name}, {"dataset", c.dataset}, {"file", c.file.string()},
                         {"limit", c.limit}, {"max_length", c.max_length},
                         {"tokenizer_dir", c.model->tokenizer_dir.string()},
                         {"chat_template", c.model->jinja.empty() ? nlohmann::json(nullptr)
                                                                  : nlohmann::json(c.model->jinja)},
                         {"template_vars", c.model->template_vars}});
  write_file(scratch / "cases.json", case_json.dump());
  const auto out = scratch / "reference.json";
  ASSERT_EQ(run_python((testing::source_dir() / "scripts/reference/longbench_prompts.py").string() +
                       " --config-dir " + config_dir.string() + " --cases " +
                       (scratch / "cases.json").string() + " --out " + out.string()),
            0);
  const nlohmann::json ref = read_json(out);

  std::map<std::string, std::unique_ptr<Tokenizer>> tokenizers;
  std::map<std::string, std::unique_ptr<ChatTemplate>> templates;
  size_t compared = 0, truncated = 0, chat = 0, raw = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Model& m = *c.model;
    auto& tok = tokenizers[m.tokenizer_dir.string()];
    if (!tok) tok = std::make_unique<Tokenizer>(Tokenizer::load(m.tokenizer_dir.string()));
    auto& chat_template = templates[m.name];
    if (!chat_template)
      chat_template = std::make_unique<ChatTemplate>(
          m.jinja.empty() ? ChatTemplate::load(m.tokenizer_dir.string())
                          : ChatTemplate::load_file(m.jinja, "<|begin_of_text|>"));
    nlohmann::json params = {{"max_length", c.max_length}, {"config_dir", config_dir.string()}};
    if (!c.default_path) params["data_file"] = c.file.string();
    if (m.options.enable_thinking.has_value()) params["enable_thinking"] = *m.options.enable_thinking;
    nlohmann::json resolved;
    auto task = make_task(c.task, params, &resolved);
    auto context = make_context("longbench.official", resolved);
    if (c.default_path) context.data_root = c.data_root;
    context.tokenizer = tok.get();
    std::vector<Sample> samples = task->samples(context);
    const nlohmann::json& rows = ref.at("cases").at(c.name);
    ASSERT_GE(samples.size(), rows.size());
    ASSERT_GT(rows.size(), 0u);
    for (size_t i = 0; i < rows.size(); ++i) {
      const Sample& s = samples[i];
      const nlohmann::json& r = rows[i];
      EXPECT_EQ(s.id, r["_id"].get<std::string>());
      EXPECT_EQ(s.use_chat_template, r["chat"].get<bool>()) << s.id;
      EXPECT_EQ(s.metadata["truncated"].get<bool>(), r["truncated"].get<bool>()) << s.id;
      EXPECT_EQ(s.metadata["prompt_tokens"].get<int64_t>(), r["tokens"].get<int64_t>()) << s.id;
      EXPECT_EQ(s.use_chat_template ? s.messages.at(0).content : s.raw_prompt,
                r["prompt"].get<std::string>()) << s.id;
      const RenderedPrompt p = render_like_engine(s, *tok, *chat_template, m.options);
      EXPECT_EQ(p.text, r["rendered"].get<std::string>()) << s.id;
      EXPECT_EQ(p.ids, r["input_ids"].get<std::vector<int32_t>>()) << s.id;
      if (c.dataset == "samsum") {
        EXPECT_EQ(s.stop_token_ids, std::vector<int64_t>{r["newline_id"].get<int64_t>()}) << s.id;
      } else {
        EXPECT_TRUE(s.stop_token_ids.empty()) << s.id;
      }
      ++compared;
      truncated += r["truncated"].get<bool>();
      (r["chat"].get<bool>() ? chat : raw) += 1;
    }
  }
  std::cout << "compared " << compared << " prompts (" << truncated << " truncated, " << chat
            << " chat template, " << raw << " raw) with transformers "
            << ref["transformers_version"].get<std::string>() << "\n";
  EXPECT_GT(truncated, 30u);
  EXPECT_GT(chat, 30u);
  EXPECT_GT(raw, 20u);
}

}  // namespace
}  // namespace kvbench
