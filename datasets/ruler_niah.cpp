// SPDX-License-Identifier: Apache-2.0
// RULER NIAH tasks (protocol ruler.official), NVIDIA/RULER scripts/data/prepare.py + synthetic/niah.py:
//   template   = RULER model template (`model_template_type`: its raw wrapper string, "base" = none)
//                applied to the NIAH task template, answer prefix appended; all strings from
//                niah/ruler/task_templates.json;
//   sizing     = the input plus tokens_to_generate must fit max_seq_length, counted with the evaluated
//                model's tokenizer (no special tokens added: HF tokenize()). One estimate call, then a
//                binary search over the haystack size; per sample the size shrinks by `incremental`
//                until the sample fits (essay: 500 words; noise/needle: 25 lines, 5 below 4096);
//   random     = one random.Random(random_seed) stream through estimate, search and samples;
//   sample     = input split at the last " The speci" (answer prefix); kvbench sends
//                input + answer_prefix as the raw prompt, as RULER's call_api.py does; references =
//                the queried values; scored by ruler.string_match_all.
// Chat template: RULER does not use the model's Jinja template; it wraps the task text in its own
// per-family string before sizing, and the answer prefix follows that wrapper. kvbench does the same
// (raw prompt, use_chat_template = false), so the measured length includes the wrapper. The engine
// encodes raw prompts with the tokenizer's special tokens (BOS for Llama 3.1), as RULER's HF and
// vLLM clients do.
// Essay haystack: PaulGrahamEssays.json's words, sentences from nltk's Punkt with the English
// punkt_tab parameters (datasets/punkt.h, datasets/prompts/punkt_english/).
// RULER's chunked generation (seed + chunk_idx) is the single-chunk case here.
#include "datasets/jsonl_reader.h"
#include "datasets/punkt.h"
#include "harness/pytext/python_text.h"
#include "datasets/ruler_niah_generator.h"
#include "harness/task/task.h"
#include "datasets/task_files.h"
#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/tokenizer/tokenizer.h"

#include <memory>

namespace kvbench {
namespace {

constexpr const char* kGeneratorVersion = "ruler.niah/1";
constexpr int kMaxRetries = 10000;  // RULER retries forever at the smallest haystack size

std::string json_string(const nlohmann::json& j, const std::string& key, const std::filesystem::path& file) {
  auto it = j.find(key);
  KVBENCH_CHECK_INPUT(it != j.end() && it->is_string(), file.string(), ": missing string field '", key, "'");
  return it->get<std::string>();
}

int64_t count_tokens(const Tokenizer& tok, const std::string& text) {
  return static_cast<int64_t>(tok.encode(text, false).size());
}

// ' '.join(s.replace('\n', ' ').replace('\t', ' ').strip().split()) for ASCII whitespace.
std::string collapse_whitespace(const std::string& s) {
  std::string out;
  bool pending = false;
  for (char c : s) {
    const bool space = c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
    if (space) {
      pending = !out.empty();
    } else {
      if (pending) out += ' ';
      pending = false;
      out += c;
    }
  }
  return out;
}

class RulerNiahTask : public Task {
 public:
  RulerNiahTask(std::string variant, nlohmann::json params)
      : variant_name_(std::move(variant)), params_(std::move(params)) {}

  std::vector<Sample> samples(const TaskContext& context) override {
    KVBENCH_CHECK_CONFIG(context.tokenizer != nullptr, "ruler.", variant_name_,
                         " sizes its prompts with the evaluated model's tokenizer, but none was given");
    const Tokenizer& tok = *context.tokenizer;
    const auto dir = data_dir(context);
    const auto templates_file = dir / "task_templates.json";
    const nlohmann::json templates = nlohmann::json::parse(read_text_file(templates_file));
    const nlohmann::json& niah = templates.at("niah");
    KVBENCH_CHECK_INPUT(templates.contains("variants") && templates["variants"].contains(variant_name_),
                        templates_file.string(), ": no variant '", variant_name_, "' under 'variants'");
    const nlohmann::json& row = templates["variants"][variant_name_];
    RulerNiahVariant variant{row.at("type_haystack"), row.at("type_needle_k"), row.at("type_needle_v"),
                             row.at("num_needle_k"), row.at("num_needle_v"), row.at("num_needle_q")};

    const std::string model_template_type = params_.at("model_template_type").get<std::string>();
    const auto& wrappers = templates.at("chat_wrappers_from_ruler_template_py");
    KVBENCH_CHECK_CONFIG(wrappers.contains(model_template_type), "task.params.model_template_type: '",
                         model_template_type, "' is not one of the RULER templates in ",
                         templates_file.string());
    const std::string task_template = json_string(niah, "template", templates_file);
    const std::string answer_prefix = json_string(niah, "answer_prefix", templates_file);
    // prepare.py: model_template.format(task_template=...) + answer_prefix
    const std::string full_template =
        python_format(wrappers[model_template_type].get<std::string>(), {{"task_template", task_template}},
                      "RULER model template " + model_template_type) +
        answer_prefix;

    const RulerWordKeys* words = nullptr;
    if (variant.type_needle_k == "words" || variant.type_needle_v == "words")
      words = &RulerWordKeys::load(dir / "wonderwords");
    std::vector<std::string> essay_words;
    std::unique_ptr<PunktSentenceSplitter> splitter;
    if (variant.type_haystack == "essay") {
      const auto essay_file = dir / "PaulGrahamEssays.json.gz";
      const nlohmann::json essay = nlohmann::json::parse(read_text_file(essay_file), nullptr, false);
      KVBENCH_CHECK_INPUT(essay.is_object() && essay.contains("text") && essay["text"].is_string(),
                          essay_file.string(), ": expected a JSON object with string field 'text'");
      essay_words = ruler_essay_words(essay["text"].get<std::string>());
      splitter = std::make_unique<PunktSentenceSplitter>(load_punkt_parameters(prompt_file("punkt_english")));
    }
    const auto seed = params_.at("random_seed").get<uint64_t>();
    RulerNiahGenerator gen(variant, full_template, json_string(niah, "needle", templates_file),
                           json_string(niah, "noise_haystack_sentence", templates_file), seed, words,
                           {&essay_words, splitter.get()});

    const int64_t max_seq_length = params_.at("max_seq_length").get<int64_t>();
    const int64_t tokens_to_generate = params_.at("tokens_to_generate").get<int64_t>();
    const int64_t incremental = variant.type_haystack == "essay" ? 500 : (max_seq_length < 4096 ? 5 : 25);

    // Upper bound from one sample's tokens per haystack line (x3 slack), then binary search.
    RulerNiahOutput probe = gen.generate(incremental);
    const double tokens_per_haystack = static_cast<double>(count_tokens(tok, probe.input_text)) /
                                       static_cast<double>(incremental);
    const auto estimated = static_cast<int64_t>((static_cast<double>(max_seq_length) / tokens_per_haystack) * 3);
    int64_t lower = incremental, upper = std::max(estimated, incremental * 2);
    int64_t optimal = -1;
    while (lower <= upper) {
      const int64_t mid = (lower + upper) / 2;
      RulerNiahOutput trial = gen.generate(mid);
      if (count_tokens(tok, trial.input_text) + tokens_to_generate <= max_seq_length) {
        optimal = mid;
        lower = mid + 1;
      } else {
        upper = mid - 1;
      }
    }
    const int64_t num_haystack = optimal >= 0 ? optimal : incremental;

    const int num_samples = params_.at("num_samples").get<int>();
    const bool remove_newline_tab = params_.at("remove_newline_tab").get<bool>();
    const std::string prefix_probe = answer_prefix.substr(0, 10);  // RULER locates the prefix by it
    std::vector<Sample> out;
    for (int index = 0; index < num_samples; ++index) {
      int64_t used = num_haystack;
      RulerNiahOutput sample_out;
      int64_t length = 0;
      for (int attempt = 0;; ++attempt) {
        KVBENCH_CHECK_CONFIG(attempt < kMaxRetries, "ruler.", variant_name_, ": max_seq_length ",
                             max_seq_length, " is too short for a sample of ", used,
                             " haystack lines plus ", tokens_to_generate, " generated tokens");
        sample_out = gen.generate(used);
        length = count_tokens(tok, sample_out.input_text) + tokens_to_generate;
        if (length <= max_seq_length) break;
        if (used > incremental) used -= incremental;
      }
      std::string input = sample_out.input_text;
      if (remove_newline_tab) input = collapse_whitespace(input);
      const size_t split = input.rfind(prefix_probe);
      KVBENCH_ASSERT(split != std::string::npos, "RULER answer prefix not found in the prompt");
      const std::string prefix = input.substr(split);
      input.resize(split);
      const size_t answer_at = input.find(sample_out.answers.at(0));
      const std::string before = answer_at == std::string::npos ? input.substr(0, input.size() - 1)
                                                                : input.substr(0, answer_at);
      Sample sample;
      sample.id = std::to_string(index);
      sample.raw_prompt = input + prefix;
      sample.use_chat_template = false;
      sample.references = sample_out.answers;
      sample.max_new_tokens = static_cast<int>(tokens_to_generate);
      sample.metadata = {{"bucket", std::to_string(max_seq_length)},
                         {"length", length},
                         {"max_seq_length", max_seq_length},
                         {"num_haystack", used},
                         {"input", input},
                         {"answer_prefix", prefix},
                         {"token_position_answer", count_tokens(tok, before)},
                         {"model_template_type", model_template_type}};
      out.push_back(std::move(sample));
    }
    return out;
  }

  std::string dataset_sha256(const TaskContext& context) override {
    const auto dir = data_dir(context);
    std::string parts = std::string(kGeneratorVersion) + ";" + variant_name_ + ";" + params_.dump() + ";" +
                        sha256_file_hex(dir / "task_templates.json");
    for (const char* list : {"adjectivelist.txt", "nounlist.txt"})
      parts += std::string(";") + list + ":" + sha256_file_hex(dir / "wonderwords" / list);
    const nlohmann::json templates = nlohmann::json::parse(read_text_file(dir / "task_templates.json"), nullptr, false);
    if (templates.is_discarded() ||
        templates.value("/variants"_json_pointer / variant_name_ / "type_haystack", std::string()) == "essay") {
      parts += ";essay:" + sha256_file_hex(dir / "PaulGrahamEssays.json.gz");
      for (const char* f : {"abbrev_types.txt", "collocations.tab", "sent_starters.txt", "ortho_context.tab"})
        parts += std::string(";") + f + ":" + sha256_file_hex(prompt_file("punkt_english") / f);
    }
    return sha256_hex(parts);
  }

  std::vector<std::string> metrics(const TaskContext&) const override { return {"ruler.string_match_all"}; }

 private:
  std::filesystem::path data_dir(const TaskContext& context) const {
    return resolve_data_path(context.data_root, params_.at("data_dir").get<std::string>());
  }

  std::string variant_name_;
  nlohmann::json params_;
};

ParamSpecs ruler_niah_params() {
  return {
      {"max_seq_length", ParamType::kInt, 4096,
       "target length in model tokens: prompt (with the RULER template) + tokens_to_generate", 64.0},
      {"num_samples", ParamType::kInt, 500, "samples to generate (RULER default 500)", 1.0},
      {"random_seed", ParamType::kInt, 42, "RULER --random_seed (prepare.py adds the chunk index)", 0.0},
      {"tokens_to_generate", ParamType::kInt, 128, "RULER's NIAH generation budget", 1.0},
      {"model_template_type", ParamType::kString, "base",
       "RULER template wrapper (task_templates.json: base, meta-llama3)"},
      {"remove_newline_tab", ParamType::kBool, false, "RULER --remove_newline_tab"},
      {"data_dir", ParamType::kString, "niah/ruler",
       "folder with task_templates.json and wonderwords/, relative to data_root"},
  };
}

RegistryEntry<Task> ruler_entry(const char* variant, const char* help) {
  return RegistryEntry<Task>{
      std::string("ruler.") + variant, help, ruler_niah_params(),
      [variant](const nlohmann::json& p) { return std::make_unique<RulerNiahTask>(variant, p); },
      {{"protocols", {"ruler.official"}}, {"default_protocol", "ruler.official"}}};
}

}  // namespace

KVBENCH_REGISTER(Task, ruler_entry("niah_single_1", "RULER NIAH single_1: noise haystack, word key, number value"));
KVBENCH_REGISTER(Task, ruler_entry("niah_multikey_2", "RULER NIAH multikey_2: distractor-needle haystack, word keys, number values"));
KVBENCH_REGISTER(Task, ruler_entry("niah_multikey_3", "RULER NIAH multikey_3: distractor-needle haystack, uuid keys and values"));
KVBENCH_REGISTER(Task, ruler_entry("niah_single_2", "RULER NIAH single_2: essay haystack, word key, number value"));
KVBENCH_REGISTER(Task, ruler_entry("niah_single_3", "RULER NIAH single_3: essay haystack, word key, uuid value"));
KVBENCH_REGISTER(Task, ruler_entry("niah_multikey_1", "RULER NIAH multikey_1: essay haystack, 4 word keys, one queried"));
KVBENCH_REGISTER(Task, ruler_entry("niah_multivalue", "RULER NIAH multivalue: essay haystack, 4 values for the queried key"));
KVBENCH_REGISTER(Task, ruler_entry("niah_multiquery", "RULER NIAH multiquery: essay haystack, 4 keys all queried"));

}  // namespace kvbench
