#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""GPU machine only: builds full-size random bf16 checkpoints shaped like Llama-3.1-8B and like
Qwen3-30B-A3B cut to a few layers, and records transformers' bf16 greedy tokens (32 steps, CUDA,
sdpa attention, eager experts) for a 512-token seeded prompt in <out>/<name>/reference.json, with
each step's logits at its 8 highest tokens (ids and fp32 values of the bf16 logits) and the step's
largest |logit|: test_model_gpu accepts a divergence from kvbench only at a near-tie of these.
Usage: make_large_checkpoints.py OUT_DIR [--moe-layers N] [--models llama31_8b,qwen3_30b_a3b]   (needs ~25 GB of disk, one GPU)
"""
import argparse
import json
import os

import sys

import torch
import transformers

TOP = 8  # logits recorded per step


def greedy_with_logits(model, prompt, steps):
    """The greedy loop of make_tiny_checkpoints.greedy (argmax of the fp32 view of the last logits,
    KV cache reused), also returning each step's TOP highest logits and its largest |logit|."""
    tokens, top_ids, top_logits, max_abs = [], [], [], []
    with torch.no_grad():
        out = model(prompt, use_cache=True)
        cache = out.past_key_values
        for _ in range(steps):
            logits = out.logits[0, -1].float()
            top = torch.topk(logits, TOP)
            tok = int(logits.argmax(-1))
            tokens.append(tok)
            top_ids.append(top.indices.tolist())
            top_logits.append(top.values.tolist())
            max_abs.append(float(logits.abs().max()))
            if len(tokens) == steps:
                break
            out = model(torch.tensor([[tok]], device=prompt.device), past_key_values=cache, use_cache=True)
            cache = out.past_key_values
    return tokens, top_ids, top_logits, max_abs

MODELS = {
    "llama31_8b": ("LlamaConfig", "LlamaForCausalLM", dict(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=131072,
        rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=128000, eos_token_id=[128001, 128008, 128009],
        rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=1.0,
                             high_freq_factor=4.0, original_max_position_embeddings=8192))),
    "qwen3_30b_a3b": ("Qwen3MoeConfig", "Qwen3MoeForCausalLM", dict(
        vocab_size=151936, hidden_size=2048, intermediate_size=6144, moe_intermediate_size=768,
        num_hidden_layers=48, num_attention_heads=32, num_key_value_heads=4, head_dim=128,
        num_experts=128, num_experts_per_tok=8, norm_topk_prob=True, decoder_sparse_step=1,
        mlp_only_layers=[], max_position_embeddings=131072, rms_norm_eps=1e-6, tie_word_embeddings=False,
        bos_token_id=151643, eos_token_id=151645,
        rope_parameters=dict(rope_type="default", rope_theta=1000000.0))),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--moe-layers", type=int, default=4)
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    ap.add_argument("--no-reference", action="store_true",
                    help="only the checkpoint (for benchmarks), no transformers greedy reference.json")
    args = ap.parse_args()
    wanted = args.models.split(",")
    unknown = [m for m in wanted if m not in MODELS]
    if unknown:
        sys.exit(f"make_large_checkpoints: unknown model(s) {unknown}; known: {list(MODELS)}")
    for i, (name, (config_cls, model_cls, kwargs)) in enumerate(MODELS.items()):
        if name not in wanted:
            continue
        path = os.path.join(args.out, name)
        if os.path.exists(os.path.join(path, "reference.json")) or (
                args.no_reference and os.path.exists(os.path.join(path, "config.json"))):
            continue
        if "Moe" in model_cls:
            kwargs = dict(kwargs, num_hidden_layers=args.moe_layers)
        config = getattr(transformers, config_cls)(**kwargs)
        torch.manual_seed(2000 + i)
        torch.set_default_dtype(torch.bfloat16)
        with torch.device("cuda"):
            model = getattr(transformers, model_cls)(config)
        torch.set_default_dtype(torch.float32)
        model.save_pretrained(path, max_shard_size="5GB")
        del model
        torch.cuda.empty_cache()
        if args.no_reference:
            continue
        load = dict(dtype=torch.bfloat16, attn_implementation="sdpa")
        if "Moe" in model_cls:
            load["experts_implementation"] = "eager"
        ref = getattr(transformers, model_cls).from_pretrained(path, **load).to("cuda").eval()
        gen = torch.Generator().manual_seed(3000 + i)
        prompt = torch.randint(1000, config.vocab_size - 1000, (1, 512), generator=gen)
        tokens, top_ids, top_logits, max_abs = greedy_with_logits(ref, prompt.cuda(), 32)
        with open(os.path.join(path, "reference.json"), "w") as f:
            json.dump({"architecture": model_cls, "prompt": prompt[0].tolist(), "greedy_bf16": tokens,
                       "num_layers": config.num_hidden_layers, "top_ids": top_ids, "top_logits": top_logits,
                       "max_abs_logit": max_abs}, f)
        del ref
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
