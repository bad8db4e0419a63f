// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the LongBench task tests: the 34 registered task names, synthetic records in
// the official jsonl shape for the datasets whose files are not offline, and the prompt as the
// hf engine renders a Sample (raw prompt + special tokens, or chat template without them).
#pragma once

#include "datasets/jsonl_reader.h"
#include "harness/tokenizer/chat_template.h"
#include "harness/tokenizer/tokenizer.h"
#include "tests/datasets/task_test_support.h"

#include <string>
#include <vector>

namespace kvbench::testing {

// Every registered name, spelled out (tests/unit/test_component_files.cpp looks for them).
inline const std::vector<std::string>& longbench_task_names() {
  static const std::vector<std::string> kNames = {
      "longbench.narrativeqa", "longbench.qasper", "longbench.multifieldqa_en",
      "longbench.multifieldqa_zh", "longbench.hotpotqa", "longbench.2wikimqa", "longbench.musique",
      "longbench.dureader", "longbench.gov_report", "longbench.qmsum", "longbench.multi_news",
      "longbench.vcsum", "longbench.trec", "longbench.triviaqa", "longbench.samsum",
      "longbench.lsht", "longbench.passage_count", "longbench.passage_retrieval_en",
      "longbench.passage_retrieval_zh", "longbench.lcc", "longbench.repobench-p",
      "longbench_e.qasper", "longbench_e.multifieldqa_en", "longbench_e.hotpotqa",
      "longbench_e.2wikimqa", "longbench_e.gov_report", "longbench_e.multi_news",
      "longbench_e.trec", "longbench_e.triviaqa", "longbench_e.samsum",
      "longbench_e.passage_count", "longbench_e.passage_retrieval_en", "longbench_e.lcc",
      "longbench_e.repobench-p"};
  return kNames;
}

// Text pools for synthetic records: English news (multi_news contexts), Chinese reports
// (multifieldqa_zh contexts), Python source (a file of this repository).
struct TextPools {
  std::string english, chinese, code;
};

inline const TextPools& text_pools() {
  static const TextPools pools = [] {
    TextPools p;
    auto first_contexts = [](const std::string& name) {
      std::string all;
      auto read = read_jsonl(data_dir() / "longbench/data" / (name + ".jsonl.gz"));
      for (size_t i = 0; i < 6 && i < read.records.size(); ++i)
        all += read.records[i].value["context"].get<std::string>();
      return all;
    };
    p.english = first_contexts("multi_news");
    p.chinese = first_contexts("multifieldqa_zh");
    const std::string code = read_text_file(source_dir() / "scripts/reference/hf_tokenizer_reference.py");
    while (p.code.size() < 60000) p.code += code;
    return p;
  }();
  return pools;
}

// `bytes` bytes of `text` from `offset`, cut back to a UTF-8 character boundary.
inline std::string utf8_slice(const std::string& text, size_t offset, size_t bytes) {
  auto boundary = [&](size_t i) {
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    return std::min(i, text.size());
  };
  size_t begin = boundary(offset % text.size());
  size_t end = boundary(std::min(text.size(), begin + bytes));
  return text.substr(begin, end - begin);
}

// Two records per dataset in the official shape: a short one and a long one (a few thousand
// tokens), with literal braces, a special-token spelling, CRLF and emoji in the long context.
inline std::vector<nlohmann::json> synthetic_records(const std::string& dataset) {
  static const std::vector<std::string> kChinese = {"multifieldqa_zh", "dureader", "vcsum",
                                                    "passage_retrieval_zh", "lsht"};
  const bool zh = std::find(kChinese.begin(), kChinese.end(), dataset) != kChinese.end();
  const bool code = dataset == "lcc" || dataset == "repobench-p";
  const TextPools& pools = text_pools();
  const std::string& pool = code ? pools.code : zh ? pools.chinese : pools.english;
  std::vector<nlohmann::json> out;
  for (int n = 0; n < 2; ++n) {
    const bool long_record = n == 1;
    std::string context = utf8_slice(pool, 977 * (dataset.size() + n), long_record ? 14000 : 700);
    if (long_record)
      context = "{input} and {{braces}} stay literal.\r\nA <|eot_id|> <|im_start|> spelling 😀\n" + context;
    std::string input;
    nlohmann::json all_classes = nullptr;
    if (dataset == "trec") {
      input = "Question: What is the capital of Peru ?\nType:";
      all_classes = {"City", "Country", "Definition of something", "Other location"};
    } else if (dataset == "lsht") {
      input = "新闻内容：\n秘鲁首都利马今日举行活动。\n类别：";
      all_classes = {"体育", "经济", "社会、劳动"};
    } else if (dataset == "triviaqa") {
      input = "Passage:\nLima is the capital of Peru.\nQuestion:\nWhat is the capital of Peru?\nAnswer:";
    } else if (dataset == "samsum") {
      input = "Dialogue: Ann: hi\r\nBob: hello {there}\nSummary: ";
    } else if (code) {
      input = dataset == "repobench-p" ? "def helper(x):\n    return x\n" : "";
    } else {
      input = zh ? "秘鲁的首都是哪里？" : "What is the capital of Peru? (answer in {one} word)";
    }
    const std::string id = dataset + "-synthetic-" + std::to_string(n);
    out.push_back({{"input", input},
                   {"context", context},
                   {"answers", {zh ? "利马" : "Lima"}},
                   {"length", long_record ? 9000 : 150 + n},
                   {"dataset", dataset},
                   {"language", zh ? "zh" : "en"},
                   {"all_classes", all_classes},
                   {"_id", id}});
  }
  return out;
}

inline void write_jsonl(const std::filesystem::path& path, const std::vector<nlohmann::json>& rows) {
  std::string text;
  for (const auto& row : rows) text += row.dump() + "\n";
  write_file(path, text);
}

// The prompt text and ids the hf engine (harness/engine/hf_engine.cpp) builds from a Sample.
struct RenderedPrompt {
  std::string text;
  std::vector<int32_t> ids;
};

inline RenderedPrompt render_like_engine(const Sample& sample, const Tokenizer& tok,
                                         const ChatTemplate& chat, const ChatTemplateOptions& options) {
  RenderedPrompt out;
  if (!sample.raw_prompt.empty()) {
    out.text = sample.raw_prompt;
    out.ids = tok.encode(out.text, true);
  } else {
    out.text = chat.render(sample.messages, options);
    out.ids = tok.encode(out.text, false);
  }
  return out;
}

}  // namespace kvbench::testing
