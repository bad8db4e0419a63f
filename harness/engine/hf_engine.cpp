// SPDX-License-Identifier: Apache-2.0
// The product engine ("hf"): a Hugging Face model folder run by kvbench's own runtime. One sample:
//   prompt  = raw_prompt (tokenized with the tokenizer's special tokens, e.g. Llama's BOS), or the
//             messages rendered by the model's chat template with add_generation_prompt (tokenized
//             without adding special tokens: the template already wrote them, as transformers'
//             apply_chat_template does), or, with use_chat_template=false, the message contents
//             joined by "\n\n" and tokenized like a raw prompt;
//   decode  = greedy (harness/model/generate.h) with the KV method of the run, stopping on EOS ids,
//             stop token ids, stop strings (StopStringStream, the stop string itself is cut off)
//             or max_new_tokens;
//   record  = prediction, token counts, TTFT/TPOT, KV bytes, the KV accounting record
//             (harness/engine/kv_accounting.h) and the method's counters.
// A prompt longer than model.max_context (or the model's max_position_embeddings) minus
// max_new_tokens is an error for that sample (the task decides how to truncate, by protocol).
#include "harness/engine/engine.h"
#include "harness/error.h"
#include "harness/hashing.h"
#include "harness/model/causal_lm.h"
#include "harness/model/generate.h"
#include "harness/model/shared_prefill.h"
#include "harness/engine/kv_accounting.h"
#include "harness/tokenizer/chat_template.h"
#include "harness/tokenizer/decode_stream.h"
#include "harness/tokenizer/tokenizer.h"
#include "harness/kv/method.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <torch/version.h>

#include <filesystem>
#include <map>
#include <memory>
#include <fstream>
#include <numeric>
#include <optional>

namespace kvbench {
namespace {

using nlohmann::json;

at::ScalarType dtype_of(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "float16") return at::kHalf;
  return at::kBFloat16;
}

at::Device device_of(const std::string& name) {
  if (name == "auto") return at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  try {
    at::Device device(name);
    KVBENCH_CHECK_CONFIG(!device.is_cuda() || at::hasCUDA(), "model.device: ", name,
                         " requested but no CUDA device is available");
    return device;
  } catch (const c10::Error&) {
    KVBENCH_FAIL(ErrorKind::kConfig, "model.device: '", name, "' is not a device (auto, cpu, cuda, cuda:N)");
  }
}

// What the engines of one model config share in this process: the loaded model, its tokenizer and
// chat template, and at most one recorded shared prefill (harness/model/shared_prefill.h).
struct LoadedModel {
  std::string folder;
  std::unique_ptr<CausalLM> model;
  std::optional<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;
  int64_t max_context = 0;
  std::optional<PrefillRecord> shared_prefill;
};

std::shared_ptr<LoadedModel> load_model(const json& model) {
  auto loaded = std::make_shared<LoadedModel>();
  loaded->folder = model["path"].get<std::string>();
  const std::string& folder = loaded->folder;
  KVBENCH_CHECK_INPUT(std::filesystem::is_directory(folder), "model.path: ", folder,
                      ": not a directory (a Hugging Face model folder is expected)");
  LoadOptions options;
  options.dtype = dtype_of(model["dtype"].get<std::string>());
  options.device = device_of(model["device"].get<std::string>());
  loaded->model = CausalLM::load(folder, options);
  loaded->tokenizer.emplace(Tokenizer::load(folder));
  // Methods that calibrate on a fixed text (InfiniGen) tokenize it like a raw prompt.
  const Tokenizer* tokenizer = &*loaded->tokenizer;
  loaded->model->set_tokenizer([tokenizer](const std::string& text) {
    const std::vector<int32_t> ids = tokenizer->encode(text, /*add_special_tokens=*/true);
    return std::vector<int64_t>(ids.begin(), ids.end());
  });
  bool has_template = std::filesystem::exists(std::filesystem::path(folder) / "chat_template.jinja");
  if (!has_template) {
    std::ifstream in(std::filesystem::path(folder) / "tokenizer_config.json");
    if (in.good()) has_template = json::parse(in, nullptr, false).contains("chat_template");
  }
  if (has_template) loaded->chat_template.emplace(ChatTemplate::load(folder));
  loaded->max_context = model["max_context"].is_null() ? loaded->model->config().max_position_embeddings
                                                       : model["max_context"].get<int64_t>();
  return loaded;
}

// Engines built while another engine of the same model section lives share its LoadedModel (one
// load for all the methods of a sweep's group); the model is freed with the last of them.
std::shared_ptr<LoadedModel> shared_model(const json& model) {
  static std::map<std::string, std::weak_ptr<LoadedModel>> loaded;
  const std::string key = model.dump();
  if (auto alive = loaded[key].lock()) return alive;
  std::shared_ptr<LoadedModel> fresh = load_model(model);
  loaded[key] = fresh;
  return fresh;
}

class HfEngine : public Engine {
 public:
  // `run`: engine_config() of a run (model + method); nothing else of the run is read here.
  explicit HfEngine(const json& run) {
    loaded_ = shared_model(run["model"]);
    folder_ = loaded_->folder;
    model_ = loaded_->model.get();
    tokenizer_ = &*loaded_->tokenizer;
    chat_template_ = loaded_->chat_template ? &*loaded_->chat_template : nullptr;
    max_context_ = loaded_->max_context;
    const json& method = run["method"];
    const auto* entry = KVMethodRegistry::instance().find(method["name"].get<std::string>());
    KVBENCH_ASSERT(entry != nullptr, "validated method not registered");
    method_ = entry->make(method["params"]);
    method_name_ = method["name"].get<std::string>();
    prefill_uses_ = PrefillUses::of_entry(entry->extra);
  }

  json describe() const override {
    json d = {{"engine", "hf"},
              {"model_folder", folder_},
              {"architecture", model_->config().architecture},
              {"dtype", std::string(c10::toString(model_->dtype()))},
              {"device", model_->device().str()},
              {"libtorch_version", TORCH_VERSION},
              {"cuda_available", at::hasCUDA()},
              {"tokenizer", tokenizer_->source()},
              {"method", method_name_},
              {"max_context", max_context_}};
    if (chat_template_) {
      d["chat_template"] = chat_template_->name();
      d["chat_template_hash"] = chat_template_->hash();
    }
    return d;
  }

  const Tokenizer* tokenizer() const override { return tokenizer_; }

  void release_shared_prefill() override { loaded_->shared_prefill.reset(); }

  SampleResult run(const Sample& sample, const GenerationSettings& generation) override {
    return run_batch({&sample}, {generation}).front();
  }

  // One left-padded generate() over the samples (harness/model/generate.h), each with its own
  // max_new_tokens, stop token ids and stop strings; prefill_chunk and per_step_accounting are the
  // run's (the first sample's). Throws when a prompt cannot run (too long for the context).
  std::vector<SampleResult> run_batch(const std::vector<const Sample*>& samples,
                                      const std::vector<GenerationSettings>& generations) override {
    KVBENCH_ASSERT(!samples.empty() && samples.size() == generations.size(), "run_batch: one setting per sample");
    const size_t batch = samples.size();
    std::vector<std::string> prompts(batch);
    std::vector<std::vector<int64_t>> ids(batch);
    for (size_t b = 0; b < batch; ++b) {
      prompts[b] = render_prompt(*samples[b], generations[b]);
      ids[b] = encode_prompt(prompts[b], *samples[b], generations[b]);
    }
    GenerateOptions options;
    options.prefill_chunk = generations[0].prefill_chunk;
    options.max_new_tokens = 0;  // the per-sequence limits below rule
    options.stop_token_ids.clear();
    std::vector<StopStringStream> streams;
    streams.reserve(batch);
    for (size_t b = 0; b < batch; ++b) {
      options.max_new_tokens_per_sequence.push_back(generations[b].max_new_tokens);
      options.extra_stop_token_ids.push_back(generations[b].stop_token_ids);
      options.max_new_tokens = std::max(options.max_new_tokens, generations[b].max_new_tokens);
      streams.emplace_back(*tokenizer_, generations[b].stop);
    }
    const std::vector<int64_t>& eos = model_->config().eos_token_ids;
    options.stop_predicate = [&](int64_t b, const std::vector<int64_t>& generated) {
      const int64_t last = generated.back();
      // Stop tokens end generation by themselves and are not part of the text.
      const std::vector<int64_t>& extra = generations[b].stop_token_ids;
      if (std::find(eos.begin(), eos.end(), last) != eos.end() ||
          std::find(extra.begin(), extra.end(), last) != extra.end())
        return false;
      streams[b].push(static_cast<int32_t>(last));
      return streams[b].stopped();
    };
    // Shared prefill: replay the recorded exact prefill of these prompts (record it first when the
    // model holds none that serves them), if the runner asks and the method declares its uses.
    std::string prefill_mode = "own";
    if (generations[0].shared_prefill && prefill_uses_) {
      std::optional<PrefillRecord>& record = loaded_->shared_prefill;
      PrefillUses wanted = *generations[0].shared_prefill;
      wanted |= *prefill_uses_;
      prefill_mode = "replayed";
      if (!record || !record->serves(ids, options.prefill_chunk, wanted)) {
        record.reset();  // at most one recording alive
        record.emplace(record_prefill(*model_, ids, options.prefill_chunk, wanted));
        prefill_mode = "recorded";
      }
      options.shared_prefill = &*record;
    }
    GenerateResult result = generate(*model_, *method_, ids, options);

    std::vector<SampleResult> out(batch);
    json stats = method_->stats();
    json kv = kv_accounting_record(result, generations[0].per_step_accounting);
    for (const auto& [k, v] : stats.items()) kv[k] = v;
    for (size_t b = 0; b < batch; ++b) {
      if (!streams[b].stopped()) streams[b].finish();
      SampleResult& r = out[b];
      r.prediction = streams[b].text();
      r.input_tokens = static_cast<int64_t>(ids[b].size());
      r.output_tokens = static_cast<int64_t>(result.tokens[b].size());
      r.prompt_sha256 = sha256_hex(prompts[b]);
      // This sequence's decode steps: the first token comes from the prefill, each further one
      // from one step (later steps of the batch ran for the other sequences).
      const size_t steps = std::min(result.decode_ms.size(), result.tokens[b].empty() ? 0 : result.tokens[b].size() - 1);
      const double decode_total = std::accumulate(result.decode_ms.begin(), result.decode_ms.begin() + steps, 0.0);
      r.timing = {{"prefill_ms", result.prefill_ms},
                  {"ttft_ms", result.prefill_ms},
                  {"decode_ms", decode_total},
                  {"tpot_ms", steps == 0 ? 0.0 : decode_total / static_cast<double>(steps)},
                  {"batch_size", batch},
                  {"prefill_mode", prefill_mode}};
      if (options.shared_prefill != nullptr) {
        r.timing["prefill_forward_ms"] = options.shared_prefill->forward_ms;
        r.timing["prefill_replay_ms"] = result.prefill_replay_ms;
      }
      // The same names as in `kv` mean the same numbers (harness/run/record_schema.h); in a batch
      // they are the whole batch's (timing.batch_size says how many samples shared them).
      r.memory = {{"device_bytes_total", result.kv.device_bytes},
                  {"host_bytes_total", result.kv.host_bytes},
                  {"peak_device_bytes_total", result.kv.peak_device_bytes},
                  {"peak_host_rss_bytes", result.peak_host_rss_bytes}};
      if (result.peak_cuda_allocated_bytes >= 0) {  // only on a CUDA device
        r.memory["peak_cuda_allocated_bytes"] = result.peak_cuda_allocated_bytes;
        r.memory["peak_cuda_reserved_bytes"] = result.peak_cuda_reserved_bytes;
      }
      r.kv = kv;
      r.kv["finish_reason"] = result.finish_reasons[b];
    }
    // The method's storage is released now, not at the next sample: the engines of a sweep's group
    // live side by side, and their methods must not hold one prompt's KV each.
    method_->reset(model_->view(), static_cast<int64_t>(batch), 1);
    return out;
  }

 private:
  // The prompt text of a sample: its raw prompt, its messages through the chat template, or the
  // message contents joined (use_chat_template = false).
  std::string render_prompt(const Sample& sample, const GenerationSettings& generation) const {
    if (!sample.raw_prompt.empty()) return sample.raw_prompt;
    if (sample.use_chat_template) {
      KVBENCH_CHECK_INPUT(chat_template_ != nullptr, folder_,
                          ": the model has no chat template, but the task renders chat messages");
      ChatTemplateOptions template_options;
      template_options.enable_thinking = generation.enable_thinking;
      return chat_template_->render(sample.messages, template_options);
    }
    std::string prompt;
    for (const auto& m : sample.messages) prompt += (prompt.empty() ? "" : "\n\n") + m.content;
    return prompt;
  }

  // Token ids of a rendered prompt: special tokens added unless the chat template wrote them.
  std::vector<int64_t> encode_prompt(const std::string& prompt, const Sample& sample,
                                     const GenerationSettings& generation) const {
    const bool add_special = !sample.raw_prompt.empty() || !sample.use_chat_template;
    std::vector<int32_t> ids32 = tokenizer_->encode(prompt, add_special);
    std::vector<int64_t> ids(ids32.begin(), ids32.end());
    const int64_t limit = max_context_ - generation.max_new_tokens;
    KVBENCH_CHECK(static_cast<int64_t>(ids.size()) <= limit, "prompt of ", ids.size(),
                  " tokens + max_new_tokens ", generation.max_new_tokens, " exceeds the context of ",
                  max_context_, " tokens");
    return ids;
  }

  std::shared_ptr<LoadedModel> loaded_;
  std::string folder_;
  const CausalLM* model_ = nullptr;          // loaded_'s
  const Tokenizer* tokenizer_ = nullptr;     // loaded_'s
  const ChatTemplate* chat_template_ = nullptr;  // loaded_'s, null without a template
  std::unique_ptr<KVMethod> method_;
  std::string method_name_;
  std::optional<PrefillUses> prefill_uses_;  // declared by the method's entry; nullopt: never shared
  int64_t max_context_ = 0;
};

struct HfEngineFactory : EngineFactory {
  std::unique_ptr<Engine> create(const json& run_config) const override {
    return std::make_unique<HfEngine>(run_config);
  }
};

}  // namespace

KVBENCH_REGISTER(EngineFactory, RegistryEntry<EngineFactory>{
    "hf",
    "Hugging Face model folder run by kvbench's LibTorch runtime",
    {},
    [](const nlohmann::json&) { return std::make_unique<HfEngineFactory>(); },
    {}});

}  // namespace kvbench
