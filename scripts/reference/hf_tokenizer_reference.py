#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hugging Face reference side of kvbench's tokenizer tests and benchmark.

Subcommands (all deterministic, all offline):
  corpus  build the >= 5 MB parity corpus from ../shared/data (+ generated adversarial strings),
          encode/decode it with the `tokenizers` library and write binary files for the C++ test.
  chat    render chat templates with transformers' apply_chat_template (string and ids).
  truncation  LongBench's middle truncation (pred.py) with transformers' tokenizer and decode.
  bench   single-threaded encode throughput of `tokenizers` on a corpus file (MB/s).

Binary formats (little endian): corpus.bin = u32 count, then per document u8 valid_utf8, u32
length, bytes. <name>.ids.bin = u32 count, then per document u32 n, n x i32 (encode with
add_special_tokens=False; invalid documents are encoded as bytes.decode("utf-8", "replace")).
<name>.ids_special.bin: same with add_special_tokens=True for the first SPECIAL_DOCS documents.
Tokenizers derived with --derive-gpt2 cover every DERIVED_STRIDE-th document only (meta.json).
<name>.decode.bin = per document two strings (u32 length + bytes): decode(ids,
skip_special_tokens=False) and decode(ids, skip_special_tokens=True).
"""
import argparse
import glob
import gzip
import json
import os
import random
import struct
import sys
import time

SPECIAL_DOCS = 64


def _read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _take(texts, budget, max_doc=48_000):
    """First texts (cut to max_doc bytes at a character boundary) until `budget` bytes."""
    out, used = [], 0
    for t in texts:
        b = t.encode("utf-8")
        if len(b) > max_doc:
            t = b[:max_doc].decode("utf-8", "ignore")
        out.append(t)
        used += len(t.encode("utf-8"))
        if used >= budget:
            break
    return out


def adversarial_strings(seed=1234):
    """Deterministic hard cases for pre-tokenization, BPE and added-token matching."""
    rng = random.Random(seed)
    docs = []
    combining = [chr(c) for c in range(0x300, 0x370)]
    for _ in range(200):
        base = rng.choice("aeiouAEIOUnNcCsSzZ")
        docs.append("".join(base + "".join(rng.choice(combining) for _ in range(rng.randint(1, 4)))
                            for _ in range(rng.randint(1, 30))))
    docs += ["e\u0301 cafe\u0301 re\u0301sume\u0301 \u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af",
             "A\u030a\u0301 \u0041\u0308\u0304 \u212b \u2126 \ufb01 \u00c5",
             "Zalgo: Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333"]
    emoji = ["\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466", "\U0001F1FA\U0001F1F8",
             "\U0001F44D\U0001F3FD", "1\ufe0f\u20e3", "\U0001F3F3\ufe0f\u200d\U0001F308", "\u2764\ufe0f",
             "\U0001F9D1\u200d\U0001F4BB", "\U0001F600", "\U0001F62D\U0001F62D\U0001F62D", "\u263a",
             "\U0001FAE0", "\U0001F9D1\U0001F3FF\u200d\U0001F91D\u200d\U0001F9D1\U0001F3FB"]
    for _ in range(300):
        docs.append(" ".join(rng.choice(emoji) + rng.choice(["", "!", "word", " ", "\n", "123"])
                             for _ in range(rng.randint(1, 20))))
    for n in [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100, 255, 256, 1000, 4097, 20000]:
        docs.append("x" + " " * n + "y")
        docs.append(" " * n)
        docs.append("\n" * n)
        docs.append("a" + "\r\n" * n + "b")
        docs.append("\t" * n + "z")
        docs.append(" \n" * n)
        docs.append("7" * n)
        docs.append("".join(rng.choice("0123456789") for _ in range(n)) + " apples")
        docs.append("!" * n)
        docs.append("." * n + "\n")
        docs.append("-=" * n)
        docs.append(" " * n + "\n" * n + "word")
    looks = ["<|eot_id|", "<|eot_id|>", "<|im_start|>", "<|im_end|", "< |im_end|>", "<<|im_end|>>",
             "<|begin_of_text|><|begin_of_text|>", "<|reserved_special_token_250|>",
             "<|reserved_special_token_251|>", "<think></think>", "<think>\n\n</think>\n\n",
             "<|start_header_id|>user<|end_header_id|>", "<|endoftext|>", "<|end_of_text|>",
             "<tool_call>", "</tool_call", "<|vision_pad|><|image_pad|>", "<|", "|>", "<|>",
             "<|fim_prefix|>", "<|python_tag|>", "<|eom_id|>", "<|finetune_right_pad_id|>"]
    for _ in range(400):
        parts = []
        for _ in range(rng.randint(1, 8)):
            parts.append(rng.choice(looks))
            parts.append(rng.choice(["", " ", "abc", " hello", "\n", "42", "’s", "ünïcödé"]))
        docs.append("".join(parts))
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for n in [100, 1000, 5000, 20000, 60000]:
        docs.append("".join(rng.choice(letters) for _ in range(n)))
        docs.append("pneumono" * (n // 8))
    docs.append("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(20000)))
    docs.append("https://example.com/" + "/".join("seg%d?q=%d&x=y" % (i, i * 7) for i in range(3000)))
    docs.append("".join(rng.choice(letters + "0123456789+/") for _ in range(30000)) + "==")
    spaces = "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004" \
             "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\u180e\u200b\u200c" \
             "\u200d\u2060\ufeff\u001c\u001d\u001e\u001f"
    for _ in range(300):
        docs.append("".join(rng.choice([rng.choice(spaces), rng.choice(letters), rng.choice("0123456789"),
                                        rng.choice(".,;:!?'\"()[]{}"), "'s", "'LL", "'ſ", "’s", "DON'T"])
                            for _ in range(rng.randint(1, 60))))
    blocks = [(0x20, 0x7e), (0xa1, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x5ff),
              (0x600, 0x6ff), (0x900, 0x97f), (0xe00, 0xe7f), (0x3040, 0x30ff), (0x4e00, 0x9fa5),
              (0xac00, 0xd7a3), (0x2190, 0x21ff), (0x2200, 0x22ff), (0x1f300, 0x1f5ff),
              (0xff01, 0xff5e), (0x0, 0x1f), (0x7f, 0x9f), (0x1d400, 0x1d6a5), (0x2460, 0x24ff)]
    for _ in range(600):
        lo, hi = rng.choice(blocks)
        docs.append("".join(chr(rng.randint(lo, hi)) if rng.random() < 0.85 else " "
                            for _ in range(rng.randint(1, 200))))
    docs += ["Hello", " Hello", "  Hello", "\nHello", "Hello\n", "", " ", "I'm", "I 'm", "it's", "IT'S",
             "l'été", "ﬁnancial ﬂow", "１２３４５", "¼ ½ ¾ ² ³ ⅷ Ⅻ", "٣٤٥ ۱۲۳ ४५६", "𝟘𝟙𝟚"]
    return docs


def invalid_utf8_docs(seed=99):
    rng = random.Random(seed)
    pieces = [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xed\xa0\x80",
              b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80", b"\xff", b"\xfe", b"\xe2\x82",
              b"\xf0\x9f\x98", b"\xf0\x9f", b"\xc3", b"\xe4\xb8", b"\xf0\x80\x80\x80"]
    docs = []
    for _ in range(200):
        parts = []
        for _ in range(rng.randint(1, 10)):
            parts.append(rng.choice(pieces))
            parts.append(rng.choice([b"", b"a", b" word", "é".encode(), "中文".encode(), b"\n", b"12"]))
        docs.append(b"".join(parts))
    docs += [b"truncated at end \xe4\xb8", b"\xef\xbb\xbfBOM then \xc3\x28", b"\xc3" * 10]
    return docs


def build_corpus(data_dir):
    """Returns a list of (valid, bytes)."""
    d = data_dir
    docs = []
    essays = [open(p, encoding="utf-8").read() for p in sorted(glob.glob(f"{d}/niah/paul_graham_essays/*.txt"))]
    docs += essays
    docs += _take((r["context"] for r in _read_jsonl_gz(f"{d}/longbench/data/multi_news.jsonl.gz")), 550_000)
    docs += _take((r["context"] for r in _read_jsonl_gz(f"{d}/longbench/data/multifieldqa_zh.jsonl.gz")), 500_000)
    docs += _take((r["context"] for r in _read_jsonl_gz(f"{d}/longbench/data/passage_retrieval_zh.jsonl.gz")), 300_000)
    mini = []
    for p in sorted(glob.glob(f"{d}/longbench/minilongbench/*.json.gz")):
        with gzip.open(p, "rt", encoding="utf-8") as f:
            obj = json.load(f)
        mini += _take((v["origin_prompt"] for v in obj.values() if isinstance(v.get("origin_prompt"), str)),
                      60_000, max_doc=30_000)
    docs += mini
    with open(f"{d}/gsm8k/test.jsonl", encoding="utf-8") as f:
        gsm = [json.loads(l) for l in f if l.strip()]
    docs += ["Question: " + r["question"] + "\nAnswer: " + r["answer"] for r in gsm]
    docs += _take((r["html"] for r in _read_jsonl_gz(f"{d}/text2json/longproc_html_to_tsv/html_to_tsv_2k.jsonl.gz")), 550_000)
    for p in sorted(glob.glob(f"{d}/tokenizers/test_vectors/llama.cpp/*.inp"))[:1]:
        docs += open(p, encoding="utf-8").read().split("\n__ggml_vocab_test__\n")
    docs += adversarial_strings()
    out = [(1, t.encode("utf-8")) for t in docs]
    out += [(0, b) for b in invalid_utf8_docs()]
    return out


def _write_strings(f, items):
    for b in items:
        f.write(struct.pack("<I", len(b)))
        f.write(b)


def _write_ids(path, all_ids):
    with open(path, "wb") as f:
        f.write(struct.pack("<I", len(all_ids)))
        for ids in all_ids:
            f.write(struct.pack("<I", len(ids)))
            f.write(struct.pack("<%di" % len(ids), *ids))


DERIVED_STRIDE = 4  # derived tokenizers are checked on every 4th document


def derive_gpt2_digits(src, dst):
    """`src` with SmolLM2-style pre-tokenization: Digits(individual_digits) then ByteLevel with the
    GPT-2 regex (use_regex=True), no normalizer. Exercises those code paths with a real vocabulary."""
    with open(src, encoding="utf-8") as f:
        j = json.load(f)
    j["normalizer"] = None
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    j["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True}
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False)
    return dst


def cmd_corpus(args):
    from tokenizers import Tokenizer
    os.makedirs(args.out_dir, exist_ok=True)
    docs = build_corpus(args.data_dir)
    with open(os.path.join(args.out_dir, "corpus.bin"), "wb") as f:
        f.write(struct.pack("<I", len(docs)))
        for valid, b in docs:
            f.write(struct.pack("<BI", valid, len(b)))
            f.write(b)
    texts = [b.decode("utf-8", "replace") for _, b in docs]
    derived = {}
    for spec in args.derive_gpt2:
        name, src = spec.split("=", 1)
        derived[name] = derive_gpt2_digits(src, os.path.join(args.out_dir, name + ".tokenizer.json"))
        args.tokenizer.append(name + "=" + derived[name])
    meta = {"documents": len(docs), "bytes": sum(len(b) for _, b in docs), "tokenizers": {}}
    for spec in args.tokenizer:
        name, path = spec.split("=", 1)
        tok = Tokenizer.from_file(path)
        stride = 1
        if name in derived:
            stride = DERIVED_STRIDE
            path = derived[name]
            tok = Tokenizer.from_file(path)
        sub = texts[::stride]
        ids = [e.ids for e in tok.encode_batch_fast(sub, add_special_tokens=False)]
        _write_ids(os.path.join(args.out_dir, name + ".ids.bin"), ids)
        special = [e.ids for e in tok.encode_batch_fast(sub[:SPECIAL_DOCS], add_special_tokens=True)]
        _write_ids(os.path.join(args.out_dir, name + ".ids_special.bin"), special)
        with open(os.path.join(args.out_dir, name + ".decode.bin"), "wb") as f:
            keep = tok.decode_batch(ids, skip_special_tokens=False)
            skip = tok.decode_batch(ids, skip_special_tokens=True)
            _write_strings(f, [s.encode("utf-8") for pair in zip(keep, skip) for s in pair])
        meta["tokenizers"][name] = {"vocab_size": tok.get_vocab_size(with_added_tokens=True),
                                    "tokens": sum(len(i) for i in ids), "stride": stride,
                                    "path": path}
    with open(os.path.join(args.out_dir, "meta.json"), "w") as f:
        json.dump(meta, f)


def cmd_bench(args):
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    from tokenizers import Tokenizer
    with open(args.corpus, "rb") as f:
        (n,) = struct.unpack("<I", f.read(4))
        texts = []
        for _ in range(n):
            valid, length = struct.unpack("<BI", f.read(5))
            texts.append(f.read(length).decode("utf-8", "replace"))
    total = sum(len(t.encode("utf-8")) for t in texts)
    result = {"corpus_bytes": total, "rayon_threads": os.environ["RAYON_NUM_THREADS"], "tokenizers": {}}
    for spec in args.tokenizer:
        name, path = spec.split("=", 1)
        tok = Tokenizer.from_file(path)
        # Two ways of calling the library, best of `repeats` each: encode() per document (with
        # offsets, the common API) and encode_batch_fast() (no offsets; one thread under
        # RAYON_NUM_THREADS=1). The faster one is reported as the HF number.
        # Wall time and process CPU time are both kept: on a shared machine CPU time is the
        # steadier measure of single-threaded work.
        best = {"encode": float("inf"), "encode_batch_fast": float("inf")}
        best_cpu = dict(best)
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            for t in texts:
                tok.encode(t, add_special_tokens=False)
            best["encode"] = min(best["encode"], time.perf_counter() - t0)
            best_cpu["encode"] = min(best_cpu["encode"], time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            tok.encode_batch_fast(texts, add_special_tokens=False)
            best["encode_batch_fast"] = min(best["encode_batch_fast"], time.perf_counter() - t0)
            best_cpu["encode_batch_fast"] = min(best_cpu["encode_batch_fast"], time.process_time() - c0)
        fastest = min(best.values())
        result["tokenizers"][name] = {
            "seconds": fastest, "mb_per_s": total / 1e6 / fastest,
            "cpu_mb_per_s": total / 1e6 / min(best_cpu.values()),
            "mb_per_s_by_api": {k: total / 1e6 / v for k, v in best.items()}}
    json.dump(result, sys.stdout, indent=1)
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus")
    c.add_argument("--data-dir", required=True)
    c.add_argument("--out-dir", required=True)
    c.add_argument("--tokenizer", action="append", default=[],
                   help="name=path/to/tokenizer.json (none: write corpus.bin only)")
    c.add_argument("--derive-gpt2", action="append", default=[],
                   help="name=path: also check <path> rewritten with GPT-2/Digits pre-tokenization")
    b = sub.add_parser("bench")
    b.add_argument("--corpus", required=True)
    b.add_argument("--tokenizer", action="append", required=True)
    b.add_argument("--repeats", type=int, default=3)
    h = sub.add_parser("chat")
    h.add_argument("--data-dir", required=True)
    h.add_argument("--out", required=True)
    tr = sub.add_parser("truncation")
    tr.add_argument("--data-dir", required=True)
    tr.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.cmd == "chat":
        from chat_template_reference import cmd_chat
        cmd_chat(args)
    elif args.cmd == "truncation":
        from chat_template_reference import cmd_truncation
        cmd_truncation(args)
    else:
        {"corpus": cmd_corpus, "bench": cmd_bench}[args.cmd](args)


if __name__ == "__main__":
    main()
