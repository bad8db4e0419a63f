#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Proves scripts/convert_gguf_model.py against transformers' own GGUF loader (same file, loaded with
gguf_file=...). Prints a JSON summary (also written to --json-out) and exits 1 on any mismatch:
  weights     every parameter of the converted folder equals transformers' dequantized GGUF (fp32)
  logits      max |diff| of fp32 logits on the chat-rendered demo prompts <= --logits-tol (1e-4)
  greedy      --steps greedy tokens (eos ignored) identical on each prompt
  tokenizer   converted tokenizer.json == the GGUF vocabulary/merges with llama.cpp's "smollm"
              pre-tokenizer (\\p{N} isolated, then the GPT-2 regex) on demo prompts, chat renders and
              llama.cpp's tokenizer test strings; decode(encode(x)) == x; chat templates equal
Also reported, not failed on: where transformers' stock GGUF tokenizer differs. transformers 5.23
maps no split regex for tokenizer.ggml.pre == "smollm", so it falls back to GPT-2's regex without
the digit split and tokenizes e.g. "  1" or "\\n\\n1" differently from the model's real tokenizer.

Usage: check_gguf_conversion.py [--gguf FILE] [--model-dir DIR] [--json-out FILE] [--steps N]
"""
from __future__ import annotations

import argparse
import copy
import json
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import demo_prompts  # noqa: E402
from convert_gguf_model import default_gguf_path, default_out_dir  # noqa: E402

# llama.cpp's LLAMA_VOCAB_PRE_TYPE_SMOLLM regexes, applied in order (llama-vocab.cpp).
SMOLLM_SPLITS = [
    r"\p{N}",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
]


def demo_messages() -> dict[str, list[dict]]:
    niah, _ = demo_prompts.passkey_prompt(n_words=1100, depth=0.5, seed=1)
    gsm, _ = demo_prompts.gsm8k_question(0)
    ext, _ = demo_prompts.extraction_prompt(seed=3)
    return {
        "niah_1.5k": [{"role": "user", "content": niah}],
        "gsm8k_0": [{"role": "user", "content": gsm + "\nLet's think step by step."}],
        "json_extraction": [{"role": "system", "content": "You extract structured data."},
                            {"role": "user", "content": ext}],
    }


def llama_cpp_test_strings() -> list[str]:
    folder = demo_prompts.data_dir() / "tokenizers" / "test_vectors" / "llama.cpp"
    out = []
    for name in ("ggml-vocab-llama-bpe.gguf.inp", "ggml-vocab-qwen2.gguf.inp"):
        text = (folder / name).read_text(encoding="utf-8")
        out += [s for s in text.split("\n__ggml_vocab_test__\n")]
    extra = ["Call 555  1234 or\n\n42.\t7 times  3", "  1", "\n\n1. first\n  2. second", "x=10000000;  y = 3.14159"]
    return list(dict.fromkeys(out + extra))


def smollm_reference_tokenizer(gguf_dir: str, gguf_file: str):
    """transformers' GGUF tokenizer with llama.cpp's smollm pre-tokenizer in place of its fallback."""
    from tokenizers import Regex, pre_tokenizers
    from transformers import AutoTokenizer

    stock = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file)
    fixed = copy.deepcopy(stock)
    fixed.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in SMOLLM_SPLITS]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    return stock, fixed


def check_tokenizer(model_dir: pathlib.Path, gguf_dir: str, gguf_file: str, messages, report) -> bool:
    from transformers import AutoTokenizer

    mine = AutoTokenizer.from_pretrained(str(model_dir))
    stock, ref = smollm_reference_tokenizer(gguf_dir, gguf_file)
    ok = True
    same_vocab = mine.get_vocab() == ref.get_vocab()
    ok &= same_vocab
    renders, render_diff = {}, []
    for name, msgs in messages.items():
        a = mine.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        b = ref.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        if a != b:
            render_diff.append(name)
        renders[name] = a
    ok &= not render_diff
    texts = {f"chat:{k}": v for k, v in renders.items()}
    texts.update({f"raw:{k}": m[-1]["content"] for k, m in messages.items()})
    texts.update({f"llama.cpp:{i}": s for i, s in enumerate(llama_cpp_test_strings())})
    mismatch, stock_diff, roundtrip_fail, n_tokens = [], [], [], {}
    for name, text in texts.items():
        a = mine.encode(text, add_special_tokens=True)
        b = ref.encode(text, add_special_tokens=True)
        c = stock.encode(text, add_special_tokens=True)
        if a != b:
            mismatch.append(name)
        if a != c:
            stock_diff.append(name)
        if mine.decode(a) != text:
            roundtrip_fail.append(name)
        if not name.startswith("llama.cpp"):
            n_tokens[name] = len(a)
    ok &= not mismatch and not roundtrip_fail
    template_file = (model_dir / "chat_template.jinja").read_text(encoding="utf-8")
    committed = (HERE.parent / "smollm2_chat_template.jinja").read_text(encoding="utf-8")
    templates_equal = template_file == ref.chat_template == mine.chat_template == committed
    ok &= templates_equal
    report["tokenizer"] = {
        "ok": bool(ok), "same_vocab": same_vocab, "texts": len(texts), "mismatches": mismatch,
        "roundtrip_failures": roundtrip_fail, "chat_templates_equal": templates_equal,
        "chat_render_mismatches": render_diff,
        "tokens_per_prompt": n_tokens,
        "stock_transformers_gguf_tokenizer_differs_on": stock_diff,
        "chat_ids_head": {k: mine.encode(v)[:24] for k, v in renders.items()},
    }
    return bool(ok), mine, renders


def prefill_and_greedy(model, ids, steps: int):
    """(prefill logits [1, T, V], greedy continuation of ids [1, T] for exactly `steps` tokens with
    eos ignored, decoded one token at a time against a KV cache)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache()
    out, x, first = [], ids, None
    with torch.no_grad():
        for _ in range(steps):
            logits = model(input_ids=x, past_key_values=cache, use_cache=True).logits
            if first is None:
                first = logits
            nxt = int(logits[0, -1].argmax())
            out.append(nxt)
            x = torch.tensor([[nxt]])
    return first, out


def check_model(model_dir: pathlib.Path, gguf_dir: str, gguf_file: str, tok, renders, steps: int,
                tol: float, report) -> bool:
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    t0 = time.time()
    ref = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_file, dtype=torch.float32).eval()
    t1 = time.time()
    mine = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    t2 = time.time()
    ref_sd, mine_sd = ref.state_dict(), mine.state_dict()
    weight_diff, missing = 0.0, sorted(set(ref_sd) ^ set(mine_sd))
    for k in ref_sd.keys() & mine_sd.keys():
        weight_diff = max(weight_diff, float((ref_sd[k] - mine_sd[k]).abs().max()))
    cfg_keys = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings",
                "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id"]
    cfg_diff = {k: [getattr(ref.config, k, None), getattr(mine.config, k, None)]
                for k in cfg_keys if getattr(ref.config, k, None) != getattr(mine.config, k, None)}
    rope = [ref.config.rope_parameters.get("rope_theta"), mine.config.rope_parameters.get("rope_theta")]
    eps = [ref.config.rms_norm_eps, mine.config.rms_norm_eps]
    logits, greedy_res = {}, {}
    ok = not missing and weight_diff == 0.0 and not cfg_diff and rope[0] == rope[1] and abs(eps[0] - eps[1]) < 1e-9
    with torch.no_grad():
        for name, text in renders.items():
            ids = torch.tensor([tok.encode(text)])
            la, ga = prefill_and_greedy(ref, ids, steps)
            lb, gb = prefill_and_greedy(mine, ids, steps)
            diff = float((la - lb).abs().max())
            logits[name] = {"tokens": ids.shape[1], "max_abs_diff": diff, "max_abs_logit": float(la.abs().max())}
            ok &= diff <= tol
            greedy_res[name] = {"steps": steps, "equal": ga == gb, "tokens": gb,
                                "text": tok.decode(gb, skip_special_tokens=False)}
            ok &= ga == gb
    report["model"] = {
        "ok": bool(ok), "load_s": {"transformers_gguf": round(t1 - t0, 2), "converted": round(t2 - t1, 2)},
        "param_key_mismatch": missing, "max_abs_weight_diff": weight_diff, "config_diff": cfg_diff,
        "rope_theta": rope, "rms_norm_eps": eps, "logits_tol": tol, "logits": logits, "greedy": greedy_res,
    }
    return bool(ok)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gguf", type=pathlib.Path, default=None)
    ap.add_argument("--model-dir", type=pathlib.Path, default=None)
    ap.add_argument("--json-out", type=pathlib.Path, default=None)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--logits-tol", type=float, default=1e-4)
    args = ap.parse_args()
    gguf_path = args.gguf or default_gguf_path()
    model_dir = args.model_dir or default_out_dir()
    report = {"gguf": str(gguf_path), "model_dir": str(model_dir)}
    if not (model_dir / "model.safetensors").is_file():
        report["error"] = f"{model_dir} has no model.safetensors; run scripts/setup.sh (it converts the GGUF)"
        ok = False
    else:
        t0 = time.time()
        messages = demo_messages()
        ok_tok, tok, renders = check_tokenizer(model_dir, str(gguf_path.parent), gguf_path.name, messages, report)
        report["tokenizer"]["seconds"] = round(time.time() - t0, 1)
        ok_model = check_model(model_dir, str(gguf_path.parent), gguf_path.name, tok, renders, args.steps,
                               args.logits_tol, report)
        ok = ok_tok and ok_model
        report["seconds"] = round(time.time() - t0, 1)
    report["ok"] = bool(ok)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
