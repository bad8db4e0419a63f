#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test-only: a seeded tiny random-weight Qwen3ForCausalLM that carries the real Qwen3 tokenizer
and chat template, so every task can run end to end through `kvbench run` in a fraction of a
second per sample (tests/model/test_tasks_end_to_end.cpp). Its answers are noise; the test checks
the plumbing (prompt building, tokenizer, template, generation, scoring, run files), not accuracy.

Usage: make_tiny_chat_model.py TOKENIZER_DIR OUT_DIR
TOKENIZER_DIR holds tokenizer.json and tokenizer_config.json (../shared/data/tokenizers/qwen3).
max_position_embeddings is 4096, so tasks that truncate to the model's context stay small.
Skipped when OUT_DIR/STAMP matches this script, the tokenizer files and the library versions.
"""
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys


def main():
    tokenizer_dir, out = sys.argv[1], sys.argv[2]
    stamp = hashlib.sha256()
    for path in (__file__, os.path.join(tokenizer_dir, "tokenizer.json"),
                 os.path.join(tokenizer_dir, "tokenizer_config.json")):
        with open(path, "rb") as f:
            stamp.update(f.read())
    versions = [importlib.metadata.version(p) for p in ("torch", "transformers")]
    stamp.update(" ".join(versions).encode())
    stamp_path = os.path.join(out, "STAMP")
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp.hexdigest():
        return  # up to date: skip importing torch (seconds)
    import torch
    import transformers

    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)

    with open(os.path.join(tokenizer_dir, "tokenizer.json"), encoding="utf-8") as f:
        tokenizer = json.load(f)
    ids = list(tokenizer["model"]["vocab"].values()) + [t["id"] for t in tokenizer.get("added_tokens", [])]
    vocab = (max(ids) // 128 + 1) * 128
    with open(os.path.join(tokenizer_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        tokenizer_config = json.load(f)
    eos = tokenizer["model"]["vocab"].get(tokenizer_config["eos_token"])
    if eos is None:
        eos = next(t["id"] for t in tokenizer["added_tokens"] if t["content"] == tokenizer_config["eos_token"])

    torch.manual_seed(0)
    config = transformers.Qwen3Config(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=4096,
        rms_norm_eps=1e-6, tie_word_embeddings=True, eos_token_id=eos, bos_token_id=None,
        rope_parameters=dict(rope_type="default", rope_theta=1000000.0))
    model = transformers.Qwen3ForCausalLM(config).to(torch.float32).eval()
    model.save_pretrained(out, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(out, name))
    with open(stamp_path, "w") as f:
        f.write(stamp.hexdigest())


if __name__ == "__main__":
    main()
