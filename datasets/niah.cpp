// SPDX-License-Identifier: Apache-2.0
// niah.classic: Greg Kamradt's needle-in-a-haystack grid (gkamradt/LLMTest_NeedleInAHaystack,
// needlehaystack/llm_needle_haystack_tester.py + providers/openai.py), in tokens of the evaluated
// model's tokenizer instead of GPT-4's tiktoken. Per (context length L, depth D) cell:
//   1. haystack = every essay appended in file order, passes repeated until it has >= max(L) tokens;
//   2. trimmed  = decode(first L tokens) when longer than L;
//   3. tokens   = encode(trimmed), cut to L - buffer - |needle| when tokens + needle > L - buffer;
//   4. D = 100: needle appended; else p = int(|tokens| * (D / 100)), moved back until the token
//      before p is one of encode(".") (a sentence end; p may reach 0), needle inserted at p;
//   5. context = decode(result). Encoding never adds special tokens (tiktoken adds none).
// Prompt (OpenAI provider): system instruction, user = context, user = question + suffix.
// Scoring: the original's LLM judge cannot run offline; kvbench scores with the deterministic
// ruler.string_match_all (case-insensitive substring of the retrieval answer, 0 or 100).
// Essay order: Python's glob returns directory order (filesystem dependent); kvbench sorts the
// names (byte order), which is reproducible. LICENSE* files in the folder are not essays.
#include "datasets/jsonl_reader.h"
#include "harness/pytext/python_text.h"
#include "harness/task/task.h"
#include "datasets/task_files.h"
#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/tokenizer/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

namespace kvbench {
namespace {

constexpr const char* kGeneratorVersion = "niah.classic/1";

// np.round(np.linspace(lo, hi, n)) (round half to even, the last point exactly hi).
nlohmann::json rounded_linspace(double lo, double hi, int n) {
  nlohmann::json out = nlohmann::json::array();
  const double step = (hi - lo) / (n - 1);
  for (int i = 0; i < n; ++i) {
    double v = i == n - 1 ? hi : lo + i * step;
    out.push_back(static_cast<int64_t>(std::nearbyint(v)));
  }
  return out;
}

// "50" for whole numbers, else up to 3 decimals without trailing zeros ("12.5").
std::string format_depth(double depth) {
  if (depth == std::floor(depth)) return std::to_string(static_cast<int64_t>(depth));
  std::ostringstream out;
  out << std::fixed << std::setprecision(3) << depth;
  std::string s = out.str();
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

class NiahClassicTask : public Task {
 public:
  explicit NiahClassicTask(nlohmann::json params) : params_(std::move(params)) {}

  std::vector<Sample> samples(const TaskContext& context) override {
    KVBENCH_CHECK_CONFIG(context.tokenizer != nullptr,
                         "niah.classic sizes its haystack with the evaluated model's tokenizer, "
                         "but none was given (the engine has no tokenizer)");
    const Tokenizer& tok = *context.tokenizer;
    const auto lengths = params_.at("context_lengths").get<std::vector<int64_t>>();
    const auto depths = params_.at("depth_percents").get<std::vector<double>>();
    const auto needle = params_.at("needle").get<std::string>();
    const auto question = params_.at("retrieval_question").get<std::string>();
    const auto answer = params_.at("retrieval_answer").get<std::string>();
    const int64_t buffer = params_.at("final_context_length_buffer").get<int64_t>();
    KVBENCH_CHECK_CONFIG(!lengths.empty() && !depths.empty(),
                         "task.params: context_lengths and depth_percents must not be empty");
    KVBENCH_CHECK_CONFIG(std::set<int64_t>(lengths.begin(), lengths.end()).size() == lengths.size(),
                         "task.params.context_lengths: repeated values (sample ids must be unique)");
    std::set<std::string> depth_names;
    for (double d : depths)
      KVBENCH_CHECK_CONFIG(depth_names.insert(format_depth(d)).second, "task.params.depth_percents: ", d,
                           " repeats an earlier depth (sample ids must be unique)");

    // 1. Haystack: whole passes over the essays until it reaches the longest length.
    const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
    std::vector<std::string> essays;
    for (const auto& file : essay_files(haystack_dir(context))) essays.push_back(universal_newlines(read_text_file(file)));
    std::string haystack;
    std::vector<int32_t> haystack_tokens;
    while (static_cast<int64_t>(haystack_tokens.size()) < longest) {
      for (const auto& essay : essays) haystack += essay;
      haystack_tokens = tok.encode(haystack, false);
    }
    const std::vector<int32_t> needle_tokens = tok.encode(needle, false);
    const std::vector<int32_t> period_tokens = tok.encode(".", false);

    std::vector<Sample> out;
    for (int64_t length : lengths) {
      KVBENCH_CHECK_CONFIG(length - buffer > static_cast<int64_t>(needle_tokens.size()),
                           "task.params.context_lengths: ", length, " leaves no room for the haystack "
                           "after the ", buffer, "-token buffer and the ", needle_tokens.size(),
                           "-token needle");
      // 2-3. Trim to L tokens, re-encode, leave room for the buffer and the needle.
      std::string trimmed = static_cast<int64_t>(haystack_tokens.size()) > length
                                ? tok.decode(haystack_tokens.data(), static_cast<size_t>(length))
                                : haystack;
      std::vector<int32_t> tokens = tok.encode(trimmed, false);
      const int64_t budget = length - buffer;
      if (static_cast<int64_t>(tokens.size() + needle_tokens.size()) > budget)
        tokens.resize(static_cast<size_t>(budget - static_cast<int64_t>(needle_tokens.size())));

      for (double depth : depths) {
        KVBENCH_CHECK_CONFIG(depth >= 0.0 && depth <= 100.0, "task.params.depth_percents: ", depth,
                             " is outside 0..100");
        // 4. Insertion point snapped back to a sentence end.
        size_t point = tokens.size();
        if (depth != 100.0) {
          point = static_cast<size_t>(static_cast<double>(tokens.size()) * (depth / 100.0));
          while (point > 0 && std::find(period_tokens.begin(), period_tokens.end(),
                                        tokens[point - 1]) == period_tokens.end())
            --point;
        }
        std::vector<int32_t> joined(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(point));
        joined.insert(joined.end(), needle_tokens.begin(), needle_tokens.end());
        joined.insert(joined.end(), tokens.begin() + static_cast<std::ptrdiff_t>(point), tokens.end());

        const std::string bucket = "len" + std::to_string(length) + "_depth" + format_depth(depth);
        Sample sample;
        sample.id = bucket;
        sample.messages = {{"system", params_.at("system_prompt").get<std::string>()},
                           {"user", tok.decode(joined)},
                           {"user", question + params_.at("question_suffix").get<std::string>()}};
        sample.references = {answer};
        sample.metadata = {{"bucket", bucket},
                           {"context_length", length},
                           {"depth_percent", depth},
                           {"haystack_tokens", tokens.size()},
                           {"needle_token_offset", point},
                           {"needle", needle},
                           {"scorer", "ruler.string_match_all (retrieval answer as substring)"}};
        sample.max_new_tokens = params_.at("max_new_tokens").get<int>();
        out.push_back(std::move(sample));
      }
    }
    return out;
  }

  // Generator version + resolved params + every essay's sha256. The tokenizer is not hashed here
  // (it is not known when the run is planned); the run hash covers model.path.
  std::string dataset_sha256(const TaskContext& context) override {
    std::string parts = std::string(kGeneratorVersion) + ";" + params_.dump();
    for (const auto& file : essay_files(haystack_dir(context)))
      parts += ";" + file.filename().string() + ":" + sha256_file_hex(file);
    return sha256_hex(parts);
  }

  std::vector<std::string> metrics(const TaskContext&) const override {
    return {"ruler.string_match_all"};
  }

 private:
  std::filesystem::path haystack_dir(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("haystack_dir").get<std::string>());
  }

  nlohmann::json params_;
};

ParamSpecs niah_params() {
  ParamSpec lengths{"context_lengths", ParamType::kIntList, rounded_linspace(1000, 16000, 35),
                    "context lengths in model tokens (original: round(linspace(1000, 16000, 35)))", 1.0};
  ParamSpec depths{"depth_percents", ParamType::kFloatList, rounded_linspace(0, 100, 35),
                   "needle depths in percent (original: round(linspace(0, 100, 35)))", 0.0, 100.0};
  return {
      lengths,
      depths,
      {"needle", ParamType::kString,
       "\nThe best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.\n",
       "the inserted fact"},
      {"retrieval_question", ParamType::kString, "What is the best thing to do in San Francisco?",
       "the question asked after the context"},
      {"retrieval_answer", ParamType::kString, "eat a sandwich and sit in Dolores Park on a sunny day",
       "reference the scorer looks for (case-insensitive substring)"},
      {"system_prompt", ParamType::kString,
       "You are a helpful AI bot that answers questions for a user. Keep your response short and direct",
       "system turn (original OpenAI provider)"},
      {"question_suffix", ParamType::kString,
       " Don't give information outside the document or repeat your findings",
       "appended to the question (original OpenAI provider)"},
      {"haystack_dir", ParamType::kString, "niah/paul_graham_essays", "essay folder, relative to data_root"},
      {"final_context_length_buffer", ParamType::kInt, 200,
       "tokens left for the instruction, question and answer", 0.0},
      {"max_new_tokens", ParamType::kInt, 300, "original OpenAI provider max_tokens", 1.0},
  };
}

}  // namespace

KVBENCH_REGISTER(Task, RegistryEntry<Task>{
    "niah.classic",
    "gkamradt needle in a haystack: context length x depth grid over the Paul Graham essays",
    niah_params(), [](const nlohmann::json& p) { return std::make_unique<NiahClassicTask>(p); },
    {{"protocols", {"niah.gkamradt"}}, {"default_protocol", "niah.gkamradt"}}});

}  // namespace kvbench
