#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tiny random checkpoints with RoPE scaling (linear, dynamic NTK, YaRN) and transformers' outputs at
positions past their original window, for tests/model/test_rope_scaling.cpp.

Per model directory <out>/<name>/: the checkpoint (config.json with rope_parameters, model.safetensors),
reference.json (prompt ids, fp32 greedy continuation) and reference_logits.safetensors
("prompt_logits" [PROMPT_LEN, vocab], fp32, one forward over the whole prompt). The prompt is longer
than every variant's window (64 for linear/dynamic, 48/32 original positions for YaRN), so the scaled
frequencies are exercised; the dynamic-NTK greedy run recomputes its frequencies at every decode step
(transformers' dynamic_rope_update). Weights and greedy decoding reuse scripts/make_tiny_checkpoints.py.
Regeneration is skipped when <out>/STAMP matches. Usage: rope_scaling_reference.py OUT_DIR
"""
import hashlib
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import make_tiny_checkpoints as tiny  # noqa: E402

PROMPT_LEN = 160
GREEDY = 12
LLAMA = dict(tiny.MODELS["llama3"][2])
QWEN3 = dict(tiny.MODELS["qwen3"][2])

VARIANTS = {
    "llama_linear": ("LlamaConfig", "LlamaForCausalLM", LLAMA, 64,
                     dict(rope_type="linear", rope_theta=10000.0, factor=4.0)),
    "llama_dynamic": ("LlamaConfig", "LlamaForCausalLM", LLAMA, 64,
                      dict(rope_type="dynamic", rope_theta=10000.0, factor=4.0)),
    # Qwen3 with YaRN as its model cards recommend past 32K (factor 4), scaled down to a 48-token window.
    "qwen3_yarn": ("Qwen3Config", "Qwen3ForCausalLM", QWEN3, 192,
                   dict(rope_type="yarn", rope_theta=1000000.0, factor=4.0, original_max_position_embeddings=48)),
    # YaRN's other knobs: mscale/mscale_all_dim attention factor, custom betas, no truncation.
    "llama_yarn_mscale": ("LlamaConfig", "LlamaForCausalLM", LLAMA, 256,
                          dict(rope_type="yarn", rope_theta=10000.0, factor=8.0, original_max_position_embeddings=32,
                               mscale=1.0, mscale_all_dim=0.5, beta_fast=16.0, beta_slow=2.0, truncate=False)),
}


def stamp_text():
    digest = hashlib.sha256()
    for path in (__file__, tiny.__file__):
        with open(os.path.abspath(path), "rb") as f:
            digest.update(f.read())
    return f"{digest.hexdigest()} torch={torch.__version__} transformers={transformers.__version__}\n"


def build(name, spec, out_dir, seed):
    config_cls, model_cls, base, max_positions, rope = spec
    kwargs = {**tiny.COMMON, **base, "max_position_embeddings": max_positions, "rope_parameters": dict(rope)}
    config = getattr(transformers, config_cls)(**kwargs)
    torch.manual_seed(seed)
    model = getattr(transformers, model_cls)(config).eval()
    tiny.randomize(model, seed)
    path = os.path.join(out_dir, name)
    model.save_pretrained(path)
    ref = getattr(transformers, model_cls).from_pretrained(path, dtype=torch.float32, attn_implementation="sdpa").eval()
    gen = torch.Generator().manual_seed(seed + 1)
    prompt = torch.randint(4, tiny.VOCAB, (1, PROMPT_LEN), generator=gen)
    with torch.no_grad():
        logits = ref(prompt).logits[0].float().contiguous()
    # A fresh model for the greedy run: dynamic NTK keeps state (its cached frequencies) across calls.
    ref = getattr(transformers, model_cls).from_pretrained(path, dtype=torch.float32, attn_implementation="sdpa").eval()
    tokens = tiny.greedy(ref, prompt, GREEDY)
    save_file({"prompt_logits": logits}, os.path.join(path, "reference_logits.safetensors"))
    with open(os.path.join(path, "reference.json"), "w") as f:
        json.dump({"prompt": prompt[0].tolist(), "greedy_fp32": tokens, "rope": rope,
                   "max_position_embeddings": max_positions}, f, indent=1)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tiny.build_fixtures(sys.argv[1], stamp_text(), VARIANTS, build, first_seed=2000)

if __name__ == "__main__":
    main()
