// SPDX-License-Identifier: Apache-2.0
// needlebench.multi_retrieval: OpenCompass NeedleBench v2 parallel multi-needle retrieval
// (open-compass/opencompass opencompass/datasets/needlebench_v2/parallel.py, NeedleBenchParallelDataset
// with configs/datasets/needlebench_v2/needlebench_v2_128k/needlebench_v2_multi_retrieval_128k.py),
// English: the reference study's MultiNeedle setting. Per context length L and repeat r:
//   needles  = get_unique_entries(needles.jsonl, len(depths), English, unique arg1/arg2/pair): the
//              file's lines shuffled, then the first entries with unseen arg1, arg2 and pair;
//   essays   = PaulGrahamEssays.jsonl records, shuffled in place with random.seed(r) (cumulative
//              over r), needles copied and shuffled with random.seed(r);
//   context  = essay tokens accumulated record by record until >= L - length_buffer - needle
//              tokens, cut to that many; needle i ("\n" + needle + "\n") inserted at
//              int(len * depth_i / 100) + tokens already inserted; decoded;
//   prompt   = the English question-at-end (or start) template around the context and the
//              "、"-joined questions; one user turn through the model's chat template (OpenCompass's
//              HUMAN round); reference = "kw1*kw2*...#d1*d2*..." (needle arg2 values, depths).
// kvbench departures, all forced: tokens are the evaluated model's (the study counted with
// tiktoken's gpt-4 encoding; no special tokens are added either way); get_unique_entries shuffles
// with OpenCompass's unseeded global random state, which kvbench seeds with `needle_seed` before
// each length, so every length sees the same needles and runs are reproducible.
#include "datasets/jsonl_reader.h"
#include "harness/pytext/python_random.h"
#include "harness/pytext/python_text.h"
#include "harness/task/task.h"
#include "datasets/task_files.h"
#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/tokenizer/tokenizer.h"

#include <set>

namespace kvbench {
namespace {

constexpr const char* kGeneratorVersion = "needlebench.parallel/1";

struct Needle {
  std::string needle, question, keyword;
};

std::string key_text(const nlohmann::json& entry, const char* field) {
  auto it = entry.find(field);
  if (it == entry.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// get_unique_entries(file, n, language, True, True, True) after random.seed(seed).
std::vector<Needle> unique_needles(const std::filesystem::path& file, size_t n, const std::string& language,
                                   uint64_t seed) {
  std::vector<std::string> lines = python_readlines(read_text_file(file));
  PythonRandom rng(seed);
  python_shuffle(lines, rng);
  std::set<std::string> seen1, seen2, seen_pair;
  std::vector<Needle> out;
  for (const std::string& line : lines) {
    nlohmann::json entry = nlohmann::json::parse(python_strip(line), nullptr, false);
    if (entry.is_discarded()) continue;  // the original skips undecodable lines
    if (!entry.is_object() || !entry.contains("language") || entry["language"] != language) continue;
    const std::string k1 = key_text(entry, "arg1"), k2 = key_text(entry, "arg2");
    const std::string pair = k1 + '\x1f' + k2;
    if (seen1.count(k1) || seen2.count(k2) || seen_pair.count(pair)) continue;
    seen1.insert(k1);
    seen2.insert(k2);
    seen_pair.insert(pair);
    for (const char* field : {"needle", "retrieval_question", "arg2"})
      KVBENCH_CHECK_INPUT(entry.contains(field) && entry[field].is_string(), file.string(),
                          ": a selected needle lacks string field '", field, "'");
    out.push_back({entry["needle"], entry["retrieval_question"], entry["arg2"]});
    if (out.size() == n) break;
  }
  return out;
}

// English retrieval question: questions up to their "?" joined by "、", then the answer formats.
std::string retrieval_question(const std::vector<Needle>& needles) {
  std::string questions, formats;
  for (size_t i = 0; i < needles.size(); ++i) {
    const std::string& q = needles[i].question;
    const std::string sep = i ? "、" : "";
    questions += sep + q.substr(0, q.find('?')) + "?";
    const size_t quote = q.find('\'');
    KVBENCH_CHECK_INPUT(quote != std::string::npos, "needle question without a quoted answer format: ", q);
    std::string format = q.substr(quote + 1);
    format = format.substr(0, format.find('\''));
    formats += sep + format.substr(0, format.find('.'));
  }
  return questions + "Please answer in the format of '" + formats + "'";
}

std::string english_prompt(const std::string& context, const std::string& question, const std::string& position) {
  const std::string intro = "This is a test of long-text capability. You need to first read the ";
  if (position == "Start")
    return intro + "questions below, and then answer them one by one based on the information in the long "
                   "document that follows.\nNow please answer: " + question +
           "\n\nThe content of the long document is as follows\n\n<Document>\n" + context + "\n</Document>\n\n";
  return intro + "long document below, and then answer the final questions one by one based on the "
                 "information in the document.\nThe content of the long document is as follows\n\n<Document>\n" +
         context + "\n</Document>\n\nBased on the information in the document, now please answer: " + question + "\n";
}

class NeedleBenchMultiRetrievalTask : public Task {
 public:
  explicit NeedleBenchMultiRetrievalTask(nlohmann::json params) : params_(std::move(params)) {}

  std::vector<Sample> samples(const TaskContext& context) override {
    KVBENCH_CHECK_CONFIG(context.tokenizer != nullptr,
                         "needlebench.multi_retrieval sizes its haystack with the evaluated model's tokenizer, "
                         "but none was given");
    const Tokenizer& tok = *context.tokenizer;
    const auto dir = data_dir(context);
    const auto lengths = params_.at("lengths").get<std::vector<int64_t>>();
    const auto depths = params_.at("depths").get<std::vector<int64_t>>();
    const int64_t buffer = params_.at("length_buffer").get<int64_t>();
    const int repeats = params_.at("num_repeats_per_file").get<int>();
    const std::string position = params_.at("question_position").get<std::string>();
    KVBENCH_CHECK_CONFIG(!lengths.empty() && !depths.empty(), "task.params: lengths and depths must not be empty");
    KVBENCH_CHECK_CONFIG(std::set<int64_t>(lengths.begin(), lengths.end()).size() == lengths.size(),
                         "task.params.lengths: repeated values (sample ids must be unique)");

    const auto essays_file = dir / params_.at("essays_file").get<std::string>();
    JsonlReadResult essays_read = read_jsonl(essays_file);
    std::vector<std::string> essays_bak;
    for (const auto& record : essays_read.records) essays_bak.push_back(require_string(record, essays_file, "text"));
    std::vector<std::vector<int32_t>> essay_tokens_bak;  // encode(text) per record, same order
    for (const auto& text : essays_bak) essay_tokens_bak.push_back(tok.encode(text, false));

    std::string depth_key;
    for (size_t i = 0; i < depths.size(); ++i) depth_key += (i ? "*" : "") + std::to_string(depths[i]);

    std::vector<Sample> out;
    for (int64_t length : lengths) {
      const std::vector<Needle> chosen = unique_needles(dir / "needles.jsonl", depths.size(), "English",
                                                        params_.at("needle_seed").get<uint64_t>());
      KVBENCH_CHECK_INPUT(chosen.size() == depths.size(), (dir / "needles.jsonl").string(), ": only ",
                          chosen.size(), " distinct English needles for ", depths.size(), " depths");
      std::vector<size_t> order(essays_bak.size());  // `lines`: shuffled in place across repeats
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      for (int counter = 0; counter < repeats; ++counter) {
        PythonRandom essay_rng(static_cast<uint64_t>(counter));
        python_shuffle(order, essay_rng);
        std::vector<Needle> needles = chosen;
        PythonRandom needle_rng(static_cast<uint64_t>(counter));
        python_shuffle(needles, needle_rng);

        std::vector<std::vector<int32_t>> needle_tokens;
        int64_t needle_total = 0;
        for (const auto& n : needles) {
          needle_tokens.push_back(tok.encode("\n" + n.needle + "\n", false));
          needle_total += static_cast<int64_t>(needle_tokens.back().size());
        }
        const int64_t target = std::max<int64_t>(length - buffer - needle_total, 0);
        std::vector<int32_t> tokens;
        for (size_t e : order) {
          tokens.insert(tokens.end(), essay_tokens_bak[e].begin(), essay_tokens_bak[e].end());
          if (static_cast<int64_t>(tokens.size()) >= target) break;
        }
        if (static_cast<int64_t>(tokens.size()) > target) tokens.resize(static_cast<size_t>(target));

        std::vector<int64_t> points;
        for (int64_t d : depths)
          points.push_back(static_cast<int64_t>(static_cast<double>(tokens.size()) * (static_cast<double>(d) / 100)));
        int64_t inserted = 0;
        for (size_t i = 0; i < needles.size(); ++i) {
          const auto at = std::min<int64_t>(points[i] + inserted, static_cast<int64_t>(tokens.size()));
          tokens.insert(tokens.begin() + at, needle_tokens[i].begin(), needle_tokens[i].end());
          inserted += static_cast<int64_t>(needle_tokens[i].size());
        }

        std::string keywords;
        for (size_t i = 0; i < needles.size(); ++i) keywords += (i ? "*" : "") + needles[i].keyword;
        Sample sample;
        sample.id = "len" + std::to_string(length) + "_r" + std::to_string(counter);
        sample.messages = {{"user", english_prompt(tok.decode(tokens), retrieval_question(needles), position)}};
        sample.references = {keywords + "#" + depth_key};
        sample.max_new_tokens = params_.at("max_new_tokens").get<int>();
        sample.metadata = {{"bucket", "len" + std::to_string(length)},
                           {"length", length},
                           {"repeat", counter},
                           {"context_tokens", tokens.size()}};
        out.push_back(std::move(sample));
      }
    }
    return out;
  }

  std::string dataset_sha256(const TaskContext& context) override {
    const auto dir = data_dir(context);
    return sha256_hex(std::string(kGeneratorVersion) + ";" + params_.dump() + ";" +
                      sha256_file_hex(dir / "needles.jsonl") + ";" +
                      sha256_file_hex(dir / params_.at("essays_file").get<std::string>()));
  }

  std::vector<std::string> metrics(const TaskContext&) const override { return {"needlebench.multi_retrieval"}; }

 private:
  std::filesystem::path data_dir(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("data_dir").get<std::string>());
  }

  nlohmann::json params_;
};

ParamSpecs needlebench_params() {
  ParamSpec position{"question_position", ParamType::kString, "End", "where the questions go: End or Start"};
  position.choices = {"End", "Start"};
  return {
      {"lengths", ParamType::kIntList, nlohmann::json::array({128000}),
       "context lengths in model tokens (the study: 128000; OpenCompass 128k suite: 1000..128000)", 1.0},
      {"depths", ParamType::kIntList, nlohmann::json::array({0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}),
       "needle depths in percent, one needle each", 0.0, 100.0},
      {"length_buffer", ParamType::kInt, 3000, "tokens left for the instructions and answer (English)", 0.0},
      {"num_repeats_per_file", ParamType::kInt, 100,
       "prompts per length (the study: 100; current OpenCompass config: 25)", 1.0},
      {"needle_seed", ParamType::kInt, 0, "seed of the needle selection shuffle (unseeded upstream)", 0.0},
      position,
      {"max_new_tokens", ParamType::kInt, 1024, "generation budget (the study: 1024)", 1.0},
      {"data_dir", ParamType::kString, "niah/needlebench", "folder with needles.jsonl, relative to data_root"},
      {"essays_file", ParamType::kString, "PaulGrahamEssays.jsonl.gz", "haystack records {title, text}"},
  };
}

}  // namespace

KVBENCH_REGISTER(Task, RegistryEntry<Task>{
    "needlebench.multi_retrieval",
    "NeedleBench v2 parallel multi-needle retrieval (English, Paul Graham essays, 11 needles at 0..100%)",
    needlebench_params(),
    [](const nlohmann::json& p) { return std::make_unique<NeedleBenchMultiRetrievalTask>(p); },
    {{"protocols", {"needlebench.opencompass"}}, {"default_protocol", "needlebench.opencompass"}}});

}  // namespace kvbench
