// SPDX-License-Identifier: Apache-2.0
// Model loading (config -> architecture -> checked weights) and the shared decoder forward pass.
#include "harness/model/causal_lm.h"

#include "harness/error.h"
#include "harness/model/blocks.h"
#include "harness/model/checkpoint.h"

#include <c10/core/InferenceMode.h>

#include <cmath>

namespace kvbench {

std::unique_ptr<CausalLM> CausalLM::load(const std::string& folder, const LoadOptions& options) {
  ModelConfig config = load_model_config(folder);
  // A quantized checkpoint (FP8, GPTQ, AWQ, bitsandbytes, ...) declares itself in config.json; its
  // tensors would load as raw values with the quantization ignored, so it is an error, never a run.
  if (config.raw.contains("quantization_config")) {
    const nlohmann::json& q = config.raw["quantization_config"];
    const std::string method = q.is_object() && q.contains("quant_method") && q["quant_method"].is_string()
                                   ? q["quant_method"].get<std::string>() : "unknown";
    KVBENCH_FAIL(ErrorKind::kInput, config.path, ": quantization_config.quant_method '", method,
                 "': quantized checkpoints are not supported (their scales/zero points would be ignored); use "
                 "the model's unquantized bf16/fp16/fp32 release");
  }
  const RegistryEntry<Architecture>& entry = find_architecture(config);
  std::unique_ptr<Architecture> arch = entry.make(nlohmann::json::object());
  arch->validate(config);
  Checkpoint checkpoint(folder);
  c10::InferenceMode guard;
  ModelWeights weights(config, options.dtype, options.device);
  for (const WeightSpec& spec : arch->weight_specs(config))
    weights.set(spec.name, checkpoint.load(spec.name, options.dtype, options.device, spec.shape));
  if (config.tie_word_embeddings) weights.set("lm_head.weight", weights.get("model.embed_tokens.weight"));
  arch->prepare(weights);
  Rope rope(config.rope, config.head_dim, options.device);
  return std::unique_ptr<CausalLM>(new CausalLM(folder, std::move(weights), std::move(arch), std::move(rope)));
}

ModelView CausalLM::view() const {
  ModelView v{weights_.config().kv_shape(), &weights_, &rope_};
  v.project_query = [this](int64_t layer, const at::Tensor& hidden) {
    c10::InferenceMode guard;
    // project_qkv also computes k and v (one token at decode: cheap next to the layer's MLP).
    return arch_->project_qkv(weights_, layer, hidden.to(device(), dtype())).q.transpose(1, 2);
  };
  v.forward_tokens = [this](const std::vector<int64_t>& ids, KVMethod& observer) {
    const int64_t n = static_cast<int64_t>(ids.size()), vocab = config().vocab_size;
    KVBENCH_CHECK_CONFIG(n > 0, "forward_tokens: no tokens");
    for (int64_t id : ids)
      KVBENCH_CHECK_CONFIG(id >= 0 && id < vocab, "forward_tokens: token id ", id, " outside the vocabulary [0, ", vocab, ")");
    ForwardInput in;
    in.tokens = at::tensor(at::ArrayRef<int64_t>(ids), at::kLong).view({1, n});
    in.positions = at::arange(n, at::kLong).view({1, n});
    in.valid = at::ones({1, n}, at::kBool);
    forward(in, observer);
  };
  if (tokenize_) v.tokenize = tokenize_;
  return v;
}

at::Tensor CausalLM::forward(const ForwardInput& input, KVMethod& method) const {
  c10::InferenceMode guard;
  const ModelConfig& c = config();
  const at::Device dev = device();
  at::Tensor tokens = input.tokens.to(dev);
  at::Tensor positions = input.positions.to(dev);
  at::Tensor valid = input.valid.to(dev);
  const int64_t b = tokens.size(0), t = tokens.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));

  at::Tensor x = at::embedding(weights_.get("model.embed_tokens.weight"), tokens);  // [B, T, hidden]
  auto cos_sin = rope_.cos_sin(positions, dtype());                                   // [B, T, d] each
  for (int64_t l = 0; l < c.num_layers; ++l) {
    at::Tensor h = rms_norm(x, weights_.layer(l, "input_layernorm.weight"), c.rms_norm_eps);
    QkvProjection p = arch_->project_qkv(weights_, l, h);
    AttentionCall call;
    call.layer = l;
    call.phase = input.phase;
    call.last_prefill_chunk = input.last_prefill_chunk;
    call.slot_offset = input.slot_offset;
    call.key_pre_rope = p.k.transpose(1, 2);                                  // [B, Hkv, T, d]
    call.query = Rope::apply(p.q.transpose(1, 2), cos_sin.first, cos_sin.second);
    call.key = Rope::apply(call.key_pre_rope, cos_sin.first, cos_sin.second);
    call.value = p.v.transpose(1, 2);
    call.positions = positions;
    call.valid = valid;
    call.batch_has_padding = input.has_padding;
    call.hidden = h;
    call.scale = scale;
    at::Tensor attn = method.attend(call);                                      // [B, Hq, T, d]
    attn = attn.transpose(1, 2).reshape({b, t, c.num_heads * c.head_dim});
    const std::string o = ModelWeights::layer_name(l, "self_attn.o_proj.");
    attn = weights_.contains(o + "bias") ? at::linear(attn, weights_.get(o + "weight"), weights_.get(o + "bias"))
                                         : at::linear(attn, weights_.get(o + "weight"));
    x = x + attn;
    h = rms_norm(x, weights_.layer(l, "post_attention_layernorm.weight"), c.rms_norm_eps);
    x = x + arch_->mlp(weights_, l, h);
  }
  if (!input.all_logits) x = x.narrow(1, t - 1, 1);
  x = rms_norm(x, weights_.get("model.norm.weight"), c.rms_norm_eps);
  return at::linear(x, weights_.get("lm_head.weight"));
}

}  // namespace kvbench
