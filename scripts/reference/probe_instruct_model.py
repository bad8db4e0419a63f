#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""How good is the embedded instruct model on the demo's task types? Greedy answers through
transformers with the model's chat template (full attention, fp32, CPU) for: passkey retrieval at
given context lengths and needle depths, GSM8K test questions (zero-shot, step by step) and name/age
JSON extraction. One JSON line per sample on stdout (answer, correct, seconds), then a summary line.
This is a probe for choosing demo tasks, not a test: it asserts nothing.

Usage: probe_instruct_model.py [--model-dir DIR] [--lengths 1024,2048,4096] [--depths 0.1,0.5,0.9]
                               [--gsm8k N] [--extract N] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import demo_prompts  # noqa: E402
from convert_gguf_model import default_out_dir  # noqa: E402


def chat_ids(tok, user: str):
    text = tok.apply_chat_template([{"role": "user", "content": user}], add_generation_prompt=True,
                                   tokenize=False)
    return tok.encode(text)


def generate(model, tok, ids, max_new: int):
    import torch

    t0, c0 = time.time(), time.process_time()
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=max_new, do_sample=False,
                             eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    new = out[0, len(ids):].tolist()
    # CPU seconds too: on a shared machine wall time depends on the other tenants' load.
    return tok.decode(new, skip_special_tokens=True), len(new), time.time() - t0, time.process_time() - c0


def passkey_for_length(tok, target_tokens: int, depth: float, seed: int):
    """Passkey prompt whose chat-rendered length is within 1% of target_tokens (fits n_words)."""
    n_words = int(target_tokens / 1.3)
    for _ in range(6):
        prompt, value = demo_prompts.passkey_prompt(n_words, depth, seed)
        n = len(chat_ids(tok, prompt))
        if abs(n - target_tokens) <= target_tokens // 100:
            break
        n_words = max(10, int(n_words * target_tokens / n))
    return prompt, value


def last_number(text: str):
    nums = re.findall(r"-?\d[\d,]*\.?\d*", text)
    return nums[-1].replace(",", "").rstrip(".") if nums else None


def parse_people(text: str):
    m = re.search(r"\[.*\]", text, re.S)
    try:
        items = json.loads(m.group(0)) if m else None
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    try:
        return sorted((str(p["name"]), int(p["age"])) for p in items)
    except (KeyError, TypeError, ValueError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", type=pathlib.Path, default=None)
    ap.add_argument("--lengths", default="1024,2048,4096")
    ap.add_argument("--depths", default="0.1,0.3,0.5,0.7,0.9")
    ap.add_argument("--gsm8k", type=int, default=10)
    ap.add_argument("--extract", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    model_dir = str(args.model_dir or default_out_dir())
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    summary: dict[str, dict] = {}

    def record(task: str, row: dict) -> None:
        print(json.dumps(row, ensure_ascii=False), flush=True)
        s = summary.setdefault(task, {"n": 0, "correct": 0, "seconds": 0.0, "cpu_seconds": 0.0})
        s["n"] += 1
        s["correct"] += int(row["correct"])
        s["seconds"] = round(s["seconds"] + row["seconds"], 2)
        s["cpu_seconds"] = round(s["cpu_seconds"] + row["cpu_seconds"], 2)

    for length in [int(x) for x in args.lengths.split(",") if x]:
        for i, depth in enumerate(float(x) for x in args.depths.split(",") if x):
            prompt, value = passkey_for_length(tok, length, depth, seed=length + i)
            ids = chat_ids(tok, prompt)
            answer, n_new, secs, cpu = generate(model, tok, ids, 32)
            record(f"passkey_{length}", {"task": f"passkey_{length}", "prompt_tokens": len(ids), "depth": depth,
                                         "gold": value, "answer": answer, "correct": value in answer,
                                         "new_tokens": n_new, "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2)})
    for i in range(args.gsm8k):
        question, gold = demo_prompts.gsm8k_question(i)
        ids = chat_ids(tok, question + "\nLet's think step by step. End with 'The answer is N'.")
        answer, n_new, secs, cpu = generate(model, tok, ids, 256)
        record("gsm8k", {"task": "gsm8k", "index": i, "prompt_tokens": len(ids), "gold": gold, "answer": answer,
                         "correct": last_number(answer) == gold, "new_tokens": n_new, "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2)})
    for i in range(args.extract):
        prompt, people = demo_prompts.extraction_prompt(seed=100 + i)
        ids = chat_ids(tok, prompt)
        answer, n_new, secs, cpu = generate(model, tok, ids, 96)
        gold = sorted((p["name"], p["age"]) for p in people)
        record("json_extraction", {"task": "json_extraction", "seed": 100 + i, "prompt_tokens": len(ids),
                                   "gold": gold, "answer": answer, "correct": parse_people(answer) == gold,
                                   "new_tokens": n_new, "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2)})
    print(json.dumps({"summary": summary, "threads": torch.get_num_threads()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
