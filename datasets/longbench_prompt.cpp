// SPDX-License-Identifier: Apache-2.0
// LongBench v1 prompt recipe (see longbench_prompt.h).
#include "datasets/longbench_prompt.h"

#include "datasets/jsonl_reader.h"
#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/tokenizer/tokenizer.h"

#include <algorithm>
#include <map>

namespace kvbench {

const std::vector<std::string>& longbench_datasets() {
  static const std::vector<std::string> kDatasets = {
      "narrativeqa", "qasper",   "multifieldqa_en", "multifieldqa_zh", "hotpotqa",
      "2wikimqa",    "musique",  "dureader",        "gov_report",      "qmsum",
      "multi_news",  "vcsum",    "trec",            "triviaqa",        "samsum",
      "lsht",        "passage_count", "passage_retrieval_en", "passage_retrieval_zh", "lcc",
      "repobench-p"};
  return kDatasets;
}

const std::vector<std::string>& longbench_e_datasets() {
  static const std::vector<std::string> kDatasets = {
      "qasper", "multifieldqa_en", "hotpotqa",      "2wikimqa",             "gov_report",
      "multi_news", "trec",        "triviaqa",      "samsum",               "passage_count",
      "passage_retrieval_en",      "lcc",           "repobench-p"};
  return kDatasets;
}

bool longbench_skips_chat_template(const std::string& dataset) {
  static const char* const kNoChat[] = {"trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p"};
  return std::find(std::begin(kNoChat), std::end(kNoChat), dataset) != std::end(kNoChat);
}

std::string longbench_metric_for_dataset(const std::string& dataset) {
  static const std::map<std::string, std::string> kMap = {
      {"narrativeqa", "longbench.qa_f1"},        {"qasper", "longbench.qa_f1"},
      {"multifieldqa_en", "longbench.qa_f1"},    {"multifieldqa_zh", "longbench.qa_f1_zh"},
      {"hotpotqa", "longbench.qa_f1"},           {"2wikimqa", "longbench.qa_f1"},
      {"musique", "longbench.qa_f1"},            {"dureader", "longbench.rouge_zh"},
      {"gov_report", "longbench.rouge"},         {"qmsum", "longbench.rouge"},
      {"multi_news", "longbench.rouge"},         {"vcsum", "longbench.rouge_zh"},
      {"trec", "longbench.classification"},      {"triviaqa", "longbench.qa_f1"},
      {"samsum", "longbench.rouge"},             {"lsht", "longbench.classification"},
      {"passage_retrieval_en", "longbench.retrieval"}, {"passage_count", "longbench.count"},
      {"passage_retrieval_zh", "longbench.retrieval_zh"}, {"lcc", "longbench.code_sim"},
      {"repobench-p", "longbench.code_sim"}};
  // LongBench-E files are named "<dataset>_e".
  std::string base = dataset;
  if (base.size() > 2 && base.compare(base.size() - 2, 2, "_e") == 0)
    base = base.substr(0, base.size() - 2);
  auto it = kMap.find(base);
  return it == kMap.end() ? "" : it->second;
}

std::string longbench_e_bucket(double length) {
  return length < 4000 ? "0-4k" : length < 8000 ? "4-8k" : "8k+";
}

namespace {

nlohmann::json load_object(const std::filesystem::path& path) {
  nlohmann::json doc = nlohmann::json::parse(read_text_file(path), nullptr, /*allow_exceptions=*/false);
  KVBENCH_CHECK_INPUT(!doc.is_discarded(), path.string(), ": invalid JSON");
  KVBENCH_CHECK_INPUT(doc.is_object(), path.string(), ": expected a JSON object, got ", doc.type_name());
  return doc;
}

}  // namespace

LongBenchConfig LongBenchConfig::load(const std::filesystem::path& config_dir) {
  LongBenchConfig config;
  config.prompt_path_ = config_dir / "dataset2prompt.json";
  config.maxlen_path_ = config_dir / "dataset2maxlen.json";
  const nlohmann::json prompts = load_object(config.prompt_path_);
  for (const auto& [name, value] : prompts.items()) {
    KVBENCH_CHECK_INPUT(value.is_string(), config.prompt_path_.string(), ": field '", name,
                        "' must be a string, got ", value.type_name());
    config.prompts_[name] = value.get<std::string>();
  }
  const nlohmann::json maxlen = load_object(config.maxlen_path_);
  for (const auto& [name, value] : maxlen.items()) {
    KVBENCH_CHECK_INPUT(value.is_number_integer() && value.get<int64_t>() > 0,
                        config.maxlen_path_.string(), ": field '", name,
                        "' must be a positive integer, got ", value.dump());
    config.maxlen_[name] = value.get<int>();
  }
  config.fingerprint_ = "prompt:" + sha256_file_hex(config.prompt_path_) +
                        ";maxlen:" + sha256_file_hex(config.maxlen_path_);
  return config;
}

const std::string& LongBenchConfig::prompt_template(const std::string& dataset) const {
  auto it = prompts_.find(dataset);
  KVBENCH_CHECK_INPUT(it != prompts_.end(), prompt_path_.string(), ": no field '", dataset, "'");
  return it->second;
}

int LongBenchConfig::max_new_tokens(const std::string& dataset) const {
  auto it = maxlen_.find(dataset);
  KVBENCH_CHECK_INPUT(it != maxlen_.end(), maxlen_path_.string(), ": no field '", dataset, "'");
  return it->second;
}

std::string longbench_format(const std::string& format_string, const nlohmann::json& record,
                             const std::string& where) {
  std::string out;
  out.reserve(format_string.size());
  size_t i = 0;
  while (i < format_string.size()) {
    const char c = format_string[i];
    if (c == '}') {
      KVBENCH_CHECK_INPUT(i + 1 < format_string.size() && format_string[i + 1] == '}', where,
                          ": single '}' in the prompt template at offset ", i);
      out += '}';
      i += 2;
      continue;
    }
    if (c != '{') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < format_string.size() && format_string[i + 1] == '{') {
      out += '{';
      i += 2;
      continue;
    }
    const size_t close = format_string.find('}', i + 1);
    KVBENCH_CHECK_INPUT(close != std::string::npos, where,
                        ": unclosed '{' in the prompt template at offset ", i);
    const std::string name = format_string.substr(i + 1, close - i - 1);
    KVBENCH_CHECK_INPUT(!name.empty() && name.find_first_of("{!:.[") == std::string::npos, where,
                        ": unsupported replacement field '{", name, "}' in the prompt template "
                        "(only {field} of a string field is supported)");
    auto it = record.find(name);
    KVBENCH_CHECK_INPUT(it != record.end(), where, ": missing field '", name, "'");
    KVBENCH_CHECK_INPUT(it->is_string(), where, ": field '", name, "' must be a string, got ",
                        it->type_name());
    out += it->get_ref<const std::string&>();
    i = close + 1;
  }
  return out;
}

LongBenchPrompt longbench_truncate(const std::string& prompt, const Tokenizer* tokenizer,
                                   int64_t max_length) {
  LongBenchPrompt out;
  out.text = prompt;
  out.tokens = -1;
  if (max_length <= 0) return out;
  KVBENCH_CHECK(tokenizer != nullptr, "LongBench truncation needs the evaluated model's tokenizer");
  const std::vector<int32_t> ids = tokenizer->encode(prompt, /*add_special_tokens=*/true);
  out.tokens = static_cast<int64_t>(ids.size());
  if (out.tokens <= max_length) return out;
  const size_t half = static_cast<size_t>(max_length / 2);
  out.text = tokenizer->decode(ids.data(), half, /*skip_special_tokens=*/true) +
             tokenizer->decode(ids.data() + ids.size() - half, half, /*skip_special_tokens=*/true);
  out.truncated = true;
  return out;
}

}  // namespace kvbench
