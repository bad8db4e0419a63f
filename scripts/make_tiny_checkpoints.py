#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Builds seeded tiny random-weight Hugging Face checkpoints for every architecture kvbench supports
and records transformers' reference outputs next to each one.

Each model keeps the real head_dim, GQA ratio and RoPE settings of its family (llama3 scaling,
qk-norm, q/k/v biases, tied embeddings, MoE top-k routing) with few layers and a small hidden size.
Per model directory <out>/<name>/:
  config.json, generation_config.json, model.safetensors (or shards + index)   the checkpoint
  reference.json             prompt ids (64), fp32 greedy continuation (64), bf16 greedy (32), eos ids
  reference_logits.safetensors  "prompt_logits" [64, vocab] fp32 logits of the prompt forward
Regeneration is skipped when <out>/STAMP matches this script's hash and the library versions.
Usage: make_tiny_checkpoints.py OUT_DIR
"""
import hashlib
import json
import os
import shutil
import sys

import torch
import transformers
from safetensors.torch import save_file

PROMPT_LEN = 64
GREEDY_FP32 = 64
GREEDY_BF16 = 32
VOCAB = 1024

COMMON = dict(vocab_size=VOCAB, max_position_embeddings=131072, rms_norm_eps=1e-5,
              bos_token_id=1, eos_token_id=2)

MODELS = {
    # Llama 3.2-style: GQA 4, head_dim 128, llama3 RoPE scaling, tied embeddings.
    "llama3": ("LlamaConfig", "LlamaForCausalLM", dict(
        hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=8,
        num_key_value_heads=2, head_dim=128, tie_word_embeddings=True,
        rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=32.0, low_freq_factor=1.0,
                             high_freq_factor=4.0, original_max_position_embeddings=8192))),
    # SmolLM2-style Llama-architecture model: default RoPE, head_dim 64, GQA 3, tied embeddings.
    "smollm2": ("LlamaConfig", "LlamaForCausalLM", dict(
        hidden_size=192, intermediate_size=512, num_hidden_layers=2, num_attention_heads=3,
        num_key_value_heads=1, tie_word_embeddings=True,
        rope_parameters=dict(rope_type="default", rope_theta=100000.0))),
    # Qwen2.5-style: q/k/v biases, GQA 3, head_dim 128, untied.
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(
        hidden_size=768, intermediate_size=512, num_hidden_layers=2, num_attention_heads=6,
        num_key_value_heads=2, tie_word_embeddings=False,
        rope_parameters=dict(rope_type="default", rope_theta=1000000.0))),
    # Qwen3-4B-style: per-head q/k RMSNorm, GQA 4, head_dim 128, theta 1e6, tied embeddings.
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict(
        hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=8,
        num_key_value_heads=2, head_dim=128, tie_word_embeddings=True,
        rope_parameters=dict(rope_type="default", rope_theta=1000000.0))),
    # Qwen3-30B-A3B-style: GQA 8, head_dim 128, 16 experts top-4 with norm_topk_prob, one dense layer;
    # saved in shards to exercise model.safetensors.index.json.
    "qwen3_moe": ("Qwen3MoeConfig", "Qwen3MoeForCausalLM", dict(
        hidden_size=256, intermediate_size=384, moe_intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=8, num_key_value_heads=1, head_dim=128, num_experts=16, num_experts_per_tok=4,
        norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[1], tie_word_embeddings=False,
        rope_parameters=dict(rope_type="default", rope_theta=1000000.0))),
}
SHARDED = {"qwen3_moe": "400KB"}


def stamp_text():
    with open(os.path.abspath(__file__), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return f"{digest} torch={torch.__version__} transformers={transformers.__version__}\n"


def randomize(model, seed):
    """Deterministic weights with enough spread that greedy choices are not near-ties."""
    gen = torch.Generator().manual_seed(seed)
    # Projection std scaled with the width so activations (and fp32 rounding noise) stay comparable.
    std = 0.15 * (256.0 / model.config.hidden_size) ** 0.5
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(0.08 * torch.randn(p.shape, generator=gen))
            else:
                # Large enough that greedy continuations do not collapse into one repeated token.
                p.copy_(std * torch.randn(p.shape, generator=gen))


def greedy(model, prompt, steps):
    with torch.no_grad():
        out = model(prompt, use_cache=True)
        cache = out.past_key_values
        tokens = []
        for _ in range(steps):
            tok = out.logits[:, -1].float().argmax(-1)
            tokens.append(int(tok))
            if len(tokens) == steps:
                break
            out = model(tok[:, None], past_key_values=cache, use_cache=True)
            cache = out.past_key_values
    return tokens


def build(name, spec, out_dir, seed):
    config_cls, model_cls, kwargs = spec
    config = getattr(transformers, config_cls)(**COMMON, **kwargs)
    torch.manual_seed(seed)
    model = getattr(transformers, model_cls)(config).eval()
    randomize(model, seed)
    model.generation_config.eos_token_id = [2, 3]   # merged with config.json's 2 by kvbench
    path = os.path.join(out_dir, name)
    save_kwargs = {"max_shard_size": SHARDED[name]} if name in SHARDED else {}
    model.save_pretrained(path, **save_kwargs)

    load_kwargs = dict(dtype=torch.float32, attn_implementation="sdpa")
    if "Moe" in model_cls:
        load_kwargs["experts_implementation"] = "eager"
    ref = getattr(transformers, model_cls).from_pretrained(path, **load_kwargs).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    prompt = torch.randint(4, VOCAB, (1, PROMPT_LEN), generator=gen)
    with torch.no_grad():
        logits = ref(prompt).logits[0].float().contiguous()
    fp32_tokens = greedy(ref, prompt, GREEDY_FP32)
    # bf16 as users load it (from_pretrained(dtype=bf16) keeps the RoPE inv_freq buffer in fp32;
    # model.to(bf16) would round it and change the reference).
    load_kwargs["dtype"] = torch.bfloat16
    ref16 = getattr(transformers, model_cls).from_pretrained(path, **load_kwargs).eval()
    bf16_tokens = greedy(ref16, prompt, GREEDY_BF16)
    save_file({"prompt_logits": logits}, os.path.join(path, "reference_logits.safetensors"))
    with open(os.path.join(path, "reference.json"), "w") as f:
        json.dump({"architecture": model_cls, "prompt": prompt[0].tolist(), "greedy_fp32": fp32_tokens,
                   "greedy_bf16": bf16_tokens, "eos_token_ids": [2, 3],
                   "logit_std": float(logits.std())}, f, indent=1)


def build_fixtures(out, stamp, specs, build_one, first_seed):
    """Builds every (name, spec) of `specs` with build_one(name, spec, dir, seed) into a temporary
    folder and publishes it atomically as `out`, unless out/STAMP already equals `stamp`."""
    out = os.path.abspath(out)
    stamp_path = os.path.join(out, "STAMP")
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp:
        return
    torch.set_num_threads(1)
    tmp = f"{out}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for i, (name, spec) in enumerate(specs.items()):
        build_one(name, spec, tmp, seed=first_seed + i)
    with open(os.path.join(tmp, "STAMP"), "w") as f:
        f.write(stamp)
    # Publish atomically; a concurrent run that finished first wins.
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp:
        shutil.rmtree(tmp)
        return
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build_fixtures(sys.argv[1], stamp_text(), MODELS, build, first_seed=1000)

if __name__ == "__main__":
    main()
