// SPDX-License-Identifier: Apache-2.0
// LongBench v1 prompt recipe (THUDM/LongBench LongBench/pred.py at 2e00731): the dataset tables
// (21 datasets, the 13 of LongBench-E, the 6 without chat template), the config files
// (dataset2prompt.json, dataset2maxlen.json), Python str.format of a record into its prompt, and
// pred.py's middle truncation + chat-template decision for one prompt.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kvbench {

class Tokenizer;

// pred.py's dataset list (LongBench v1, in its order) and the `--e` list (LongBench-E).
const std::vector<std::string>& longbench_datasets();
const std::vector<std::string>& longbench_e_datasets();
// pred.py: "chat models are better off without build prompts on these tasks": trec, triviaqa,
// samsum, lsht, lcc, repobench-p.
bool longbench_skips_chat_template(const std::string& dataset);
// eval.py dataset2metric: the registered metric name for a LongBench dataset ("" if unknown;
// "<dataset>_e" names LongBench-E). A task fact: the task names its metric (Task::metrics).
std::string longbench_metric_for_dataset(const std::string& dataset);
// eval.py scorer_e buckets on the record's `length` (words for English, characters for Chinese):
// "0-4k" (< 4000), "4-8k" (< 8000), "8k+".
std::string longbench_e_bucket(double length);

// config/dataset2prompt.json + config/dataset2maxlen.json of one folder.
class LongBenchConfig {
 public:
  // kInput errors name the file (missing, not a JSON object of strings / integers).
  static LongBenchConfig load(const std::filesystem::path& config_dir);

  // The format string / max new tokens of `dataset`; kInput error naming the file when absent.
  const std::string& prompt_template(const std::string& dataset) const;
  int max_new_tokens(const std::string& dataset) const;
  // sha256 (hex) of the two files, "prompt:<sha>;maxlen:<sha>".
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  std::filesystem::path prompt_path_, maxlen_path_;
  std::map<std::string, std::string> prompts_;
  std::map<std::string, int> maxlen_;
  std::string fingerprint_;
};

// Python's format_string.format(**record) for the replacement fields LongBench uses: "{name}"
// takes the record's string field `name`; "{{" and "}}" are literal braces. A field that is
// absent or not a string, or a format spec / conversion / unbalanced brace, is a kInput error
// naming `where` and the field.
std::string longbench_format(const std::string& format_string, const nlohmann::json& record,
                             const std::string& where);

struct LongBenchPrompt {
  std::string text;            // the prompt after truncation (before any chat template)
  bool truncated = false;
  int64_t tokens = 0;          // tokenizer(prompt) length before truncation (special tokens in)
};

// pred.py get_pred: ids = tokenizer(prompt) (with special tokens); when longer than max_length,
// prompt = decode(ids[:half], skip_special) + decode(ids[-half:], skip_special), half =
// max_length / 2. max_length 0 disables truncation (and tokenizer may then be null: tokens = -1).
LongBenchPrompt longbench_truncate(const std::string& prompt, const Tokenizer* tokenizer,
                                   int64_t max_length);

}  // namespace kvbench
