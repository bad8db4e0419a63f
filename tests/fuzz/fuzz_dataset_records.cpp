// SPDX-License-Identifier: Apache-2.0
// Fuzz target: one data loader's record parser, chosen at compile time (KVBENCH_FUZZ_LOADER_<name>,
// one executable each, see CMakeLists.txt). The input is written as the loader's data file in a
// scratch folder, the registered task is made with its default params pointed at that file, and
// samples() runs under both malformed-input policies. Bad records may only end in a one-line
// kInput (or kConfig, e.g. too few few-shot exemplars) error; under `skip` every dropped record is
// counted.
#include "harness/task/task.h"
#include "harness/params.h"
#include "harness/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

#include <fstream>

namespace {

using kvbench::fuzz::data_dir;
using kvbench::fuzz::scratch_dir;
using nlohmann::json;

struct LoaderSetup {
  std::string task;
  json params;                      // overrides of the task's defaults
  std::filesystem::path input;      // where the fuzz input is written
  bool needs_tokenizer = false;
};

LoaderSetup loader_setup() {
  const std::filesystem::path dir = scratch_dir();
#if defined(KVBENCH_FUZZ_LOADER_gsm8k)
  // The same file as test split and few-shot pool: both record parsers read it.
  return {"gsm8k", {{"test_file", (dir / "test.jsonl").string()}, {"train_file", (dir / "test.jsonl").string()}},
          dir / "test.jsonl"};
#elif defined(KVBENCH_FUZZ_LOADER_longbench)
  // max_length 0: no truncation, so no tokenizer; prompts formatted from the record's fields.
  return {"longbench.multi_news", {{"data_file", (dir / "multi_news.jsonl").string()}, {"max_length", 0}},
          dir / "multi_news.jsonl"};
#elif defined(KVBENCH_FUZZ_LOADER_longproc)
  std::filesystem::copy_file(data_dir() / "text2json/longproc_html_to_tsv/prompts.yaml", dir / "prompts.yaml",
                             std::filesystem::copy_options::overwrite_existing);
  return {"longproc.html_to_tsv", {{"data_dir", dir.string()}, {"group", "0.5k"}},
          dir / "html_to_tsv_0.5k.jsonl.gz"};  // gzread passes plain text through
#elif defined(KVBENCH_FUZZ_LOADER_ruler_pregenerated)
  // The file name gives the RULER family (niah_*: 128 new tokens); any other name is refused first.
  return {"ruler.pregenerated", {{"file", (dir / "niah_multikey_3.jsonl").string()}}, dir / "niah_multikey_3.jsonl"};
#elif defined(KVBENCH_FUZZ_LOADER_text2json)
  return {"text2json.official", {{"file", (dir / "text2json.jsonl").string()}}, dir / "text2json.jsonl"};
#elif defined(KVBENCH_FUZZ_LOADER_needlebench)
  // The needles file is the input; a small essay file keeps one execution fast.
  std::ofstream essays(dir / "essays.jsonl");
  for (int i = 0; i < 4; ++i)
    essays << json({{"title", "essay " + std::to_string(i)},
                    {"text", std::string(400, 'a' + i) + ". The quick brown fox jumps over the lazy dog. "}})
                  .dump()
           << "\n";
  return {"needlebench.multi_retrieval",
          {{"data_dir", dir.string()}, {"essays_file", "essays.jsonl"}, {"lengths", {600}}, {"depths", {0, 50}},
           {"length_buffer", 100}, {"num_repeats_per_file", 2}},
          dir / "needles.jsonl", true};
#else
#error "define KVBENCH_FUZZ_LOADER_<name>"
#endif
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvbench;
  static const LoaderSetup setup = loader_setup();
  static const std::optional<Tokenizer> tokenizer =
      setup.needs_tokenizer ? std::optional<Tokenizer>(Tokenizer::load(
                                  std::string(KVBENCH_SOURCE_DIR) + "/tests/fuzz/seeds/tokenizer_json/llama3_small.json"))
                            : std::nullopt;
  const auto* entry = TaskRegistry::instance().find(setup.task);
  if (entry == nullptr) fuzz::fail("task not registered: " + setup.task);
  json params = default_params(entry->params);
  params.update(setup.params);
  fuzz::write_file(setup.input, data, size);
  for (MalformedPolicy policy : {MalformedPolicy::kError, MalformedPolicy::kSkip}) {
    TaskContext context;
    context.data_root = data_dir();
    context.protocol = entry->extra["default_protocol"].get<std::string>();
    context.params = params;
    context.tokenizer = tokenizer ? &*tokenizer : nullptr;
    context.on_malformed = policy;
    try {
      std::unique_ptr<Task> task = entry->make(params);
      std::vector<Sample> samples = task->samples(context);
      if (samples.empty()) fuzz::fail("samples() returned no sample without an error");
      for (const Sample& s : samples)
        if (s.id.empty()) fuzz::fail("a sample without an id");
      if (policy == MalformedPolicy::kError && context.malformed->skipped() != 0)
        fuzz::fail("records skipped under on_malformed: error");
    } catch (const Error& e) {
      fuzz::expect_clean_error(e, {ErrorKind::kInput, ErrorKind::kConfig});
    }
  }
  return 0;
}
