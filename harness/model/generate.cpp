// SPDX-License-Identifier: Apache-2.0
// Greedy batched generation loop (left-padded prefill, lockstep decode, stop conditions, timing).
#include "harness/model/generate.h"

#include "harness/error.h"
#include "harness/model/shared_prefill.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>

#include <sys/resource.h>

#ifdef KVBENCH_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace kvbench {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

int64_t peak_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux: kilobytes
}

// The caching allocator's peak counters restart here, so the peaks read by cuda_peaks() are this
// generation's (one process runs many samples).
void reset_cuda_peaks(at::Device device) {
#ifdef KVBENCH_TORCH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#else
  (void)device;
#endif
}

void read_cuda_peaks(at::Device device, GenerateResult& result) {
#ifdef KVBENCH_TORCH_CUDA
  if (!device.is_cuda()) return;
  using c10::CachingAllocator::StatType;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
  result.peak_cuda_allocated_bytes = stats.allocated_bytes[static_cast<size_t>(StatType::AGGREGATE)].peak;
  result.peak_cuda_reserved_bytes = stats.reserved_bytes[static_cast<size_t>(StatType::AGGREGATE)].peak;
#else
  (void)device;
  (void)result;
#endif
}

}  // namespace

PaddedPrompts pad_prompts(const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts) {
  KVBENCH_CHECK_CONFIG(!prompts.empty(), "generate: no prompts");
  const int64_t batch = static_cast<int64_t>(prompts.size());
  int64_t max_len = 0;
  for (const auto& p : prompts) {
    KVBENCH_CHECK_CONFIG(!p.empty(), "generate: empty prompt");
    max_len = std::max<int64_t>(max_len, static_cast<int64_t>(p.size()));
  }
  const int64_t vocab = model.config().vocab_size;
  for (const auto& p : prompts)
    for (int64_t id : p)
      KVBENCH_CHECK_CONFIG(id >= 0 && id < vocab, "generate: token id ", id, " outside the vocabulary [0, ", vocab, ")");

  std::vector<int64_t> token_buf(batch * max_len, 0), position_buf(batch * max_len, 0);
  std::vector<uint8_t> valid_buf(batch * max_len, 0);
  PaddedPrompts padded;
  padded.max_len = max_len;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = static_cast<int64_t>(prompts[b].size());
    const int64_t pad = max_len - len;
    padded.has_padding = padded.has_padding || pad > 0;
    for (int64_t i = 0; i < len; ++i) {
      token_buf[b * max_len + pad + i] = prompts[b][i];
      position_buf[b * max_len + pad + i] = i;
      valid_buf[b * max_len + pad + i] = 1;
    }
  }
  padded.tokens = at::from_blob(token_buf.data(), {batch, max_len}, at::kLong).clone();
  padded.positions = at::from_blob(position_buf.data(), {batch, max_len}, at::kLong).clone();
  padded.valid = at::from_blob(valid_buf.data(), {batch, max_len}, at::kByte).to(at::kBool);
  return padded;
}

at::Tensor run_prefill(const CausalLM& model, KVMethod& method, const PaddedPrompts& padded, int64_t prefill_chunk) {
  const int64_t max_len = padded.max_len;
  const int64_t chunk = prefill_chunk > 0 ? prefill_chunk : max_len;
  at::Tensor logits;
  for (int64_t begin = 0; begin < max_len; begin += chunk) {
    const int64_t n = std::min(chunk, max_len - begin);
    ForwardInput in;
    in.tokens = padded.tokens.narrow(1, begin, n);
    in.positions = padded.positions.narrow(1, begin, n);
    in.valid = padded.valid.narrow(1, begin, n);
    in.has_padding = padded.has_padding;
    in.slot_offset = begin;
    in.phase = AttentionPhase::kPrefill;
    in.last_prefill_chunk = begin + n == max_len;
    logits = model.forward(in, method);
  }
  return logits;
}

GenerateResult generate(const CausalLM& model, KVMethod& method,
                        const std::vector<std::vector<int64_t>>& prompts, const GenerateOptions& options) {
  c10::InferenceMode guard;
  const PaddedPrompts padded = pad_prompts(model, prompts);
  const int64_t batch = static_cast<int64_t>(prompts.size());
  const int64_t max_len = padded.max_len;
  const bool has_padding = padded.has_padding;

  std::vector<int64_t> stops = options.stop_token_ids;
  std::vector<int64_t> eos = options.stop_on_eos ? model.config().eos_token_ids : std::vector<int64_t>{};
  GenerateResult result;
  reset_cuda_peaks(model.device());
  result.tokens.assign(batch, {});
  result.finish_reasons.assign(batch, "length");
  std::vector<bool> done(batch, false);
  KVBENCH_CHECK_CONFIG(options.max_new_tokens_per_sequence.empty() ||
                           static_cast<int64_t>(options.max_new_tokens_per_sequence.size()) == batch,
                       "generate: max_new_tokens_per_sequence needs one entry per prompt");
  KVBENCH_CHECK_CONFIG(options.extra_stop_token_ids.empty() ||
                           static_cast<int64_t>(options.extra_stop_token_ids.size()) == batch,
                       "generate: extra_stop_token_ids needs one entry per prompt");
  auto limit_of = [&](int64_t b) {
    return options.max_new_tokens_per_sequence.empty() ? options.max_new_tokens : options.max_new_tokens_per_sequence[b];
  };
  int64_t longest = 0;
  for (int64_t b = 0; b < batch; ++b) longest = std::max(longest, limit_of(b));
  method.reset(model.view(), batch, max_len + longest);
  if (longest <= 0) return result;

  // Records the chosen tokens; returns the next input tokens [B, 1].
  auto take = [&](const at::Tensor& logits) {
    at::Tensor last = logits.select(1, logits.size(1) - 1).to(at::kFloat);  // [B, vocab]
    at::Tensor next = last.argmax(-1).to(at::kCPU);                         // syncs the device
    if (options.keep_logits) result.step_logits.push_back(last.to(at::kCPU));
    const int64_t* ids = next.data_ptr<int64_t>();
    for (int64_t b = 0; b < batch; ++b) {
      if (done[b]) continue;
      result.tokens[b].push_back(ids[b]);
      if (std::find(eos.begin(), eos.end(), ids[b]) != eos.end()) {
        done[b] = true;
        result.finish_reasons[b] = "eos";
      } else if (std::find(stops.begin(), stops.end(), ids[b]) != stops.end() ||
                 (!options.extra_stop_token_ids.empty() &&
                  std::find(options.extra_stop_token_ids[b].begin(), options.extra_stop_token_ids[b].end(), ids[b]) !=
                      options.extra_stop_token_ids[b].end())) {
        done[b] = true;
        result.finish_reasons[b] = "stop_token";
      } else if (options.stop_predicate && options.stop_predicate(b, result.tokens[b])) {
        done[b] = true;
        result.finish_reasons[b] = "stop";
      } else if (static_cast<int64_t>(result.tokens[b].size()) >= limit_of(b)) {
        done[b] = true;
      }
    }
    std::vector<int64_t> input(batch);
    for (int64_t b = 0; b < batch; ++b) input[b] = result.tokens[b].back();
    return at::from_blob(input.data(), {batch, 1}, at::kLong).clone();
  };

  // Prefill: the method's own, or a recorded exact prefill replayed into it.
  auto start = std::chrono::steady_clock::now();
  at::Tensor next;
  if (options.shared_prefill != nullptr) {
    const PrefillRecord& record = *options.shared_prefill;
    KVBENCH_ASSERT(record.prompts == prompts && record.prefill_chunk == options.prefill_chunk,
                   "generate: the shared prefill was recorded for other prompts");
    next = take(replay_prefill(record, model, method));
    result.prefill_replay_ms = ms_since(start);
    result.prefill_ms = record.forward_ms + result.prefill_replay_ms;
  } else {
    next = take(run_prefill(model, method, padded, options.prefill_chunk));
    result.prefill_ms = ms_since(start);
  }
  result.kv_after_prefill = method.memory();

  // Decode.
  at::Tensor step_valid = at::ones({batch, 1}, at::kBool);
  for (int64_t step = 0; !std::all_of(done.begin(), done.end(), [](bool d) { return d; }); ++step) {
    start = std::chrono::steady_clock::now();
    ForwardInput in;
    in.tokens = next;
    std::vector<int64_t> pos(batch);
    for (int64_t b = 0; b < batch; ++b) pos[b] = static_cast<int64_t>(prompts[b].size()) + step;
    in.positions = at::from_blob(pos.data(), {batch, 1}, at::kLong).clone();
    in.valid = step_valid;
    in.has_padding = has_padding;
    in.slot_offset = max_len + step;
    in.phase = AttentionPhase::kDecode;
    next = take(model.forward(in, method));
    result.decode_ms.push_back(ms_since(start));
    result.kv_steps.push_back(method.memory());  // outside the timed region
  }
  result.kv = result.kv_steps.empty() ? result.kv_after_prefill : result.kv_steps.back();
  result.peak_host_rss_bytes = peak_rss_bytes();
  read_cuda_peaks(model.device(), result);
  return result;
}

}  // namespace kvbench
