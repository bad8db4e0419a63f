# SPDX-License-Identifier: Apache-2.0
"""Test-only port of the context construction of gkamradt/LLMTest_NeedleInAHaystack
(https://github.com/gkamradt/LLMTest_NeedleInAHaystack, needlehaystack/llm_needle_haystack_tester.py:
read_context_files, encode_and_trim, insert_needle), with the Hugging Face `tokenizers` library and
a given tokenizer.json in place of tiktoken (encode without special tokens, plain decode).
Essays are read in sorted file-name order (the original's glob order is filesystem dependent).

usage: niah_classic_contexts.py TOKENIZER_JSON ESSAY_DIR LENGTHS DEPTHS BUFFER OUT.json
       LENGTHS / DEPTHS comma-separated; writes [{"length", "depth", "context"}, ...]
"""
import json
import os
import sys

from tokenizers import Tokenizer

NEEDLE = "\nThe best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.\n"


def main() -> None:
    tok_path, essay_dir, lengths_arg, depths_arg, buffer_arg, out_path = sys.argv[1:7]
    tok = Tokenizer.from_file(tok_path)
    enc = lambda text: tok.encode(text, add_special_tokens=False).ids
    dec = lambda ids: tok.decode(ids, skip_special_tokens=False)
    lengths = [int(x) for x in lengths_arg.split(",")]
    depths = [float(x) for x in depths_arg.split(",")]
    buffer = int(buffer_arg)

    names = sorted(n for n in os.listdir(essay_dir) if n.endswith(".txt") and not n.startswith("LICENSE"))
    haystack = ""
    while len(enc(haystack)) < max(lengths):
        for name in names:
            with open(os.path.join(essay_dir, name), encoding="utf-8") as f:
                haystack += f.read()

    rows = []
    needle_ids = enc(NEEDLE)
    period_ids = enc(".")
    for length in lengths:
        ids = enc(haystack)
        trimmed = dec(ids[:length]) if len(ids) > length else haystack
        for depth in depths:
            ctx = enc(trimmed)
            room = length - buffer
            if len(ctx) + len(needle_ids) > room:
                ctx = ctx[: room - len(needle_ids)]
            if depth == 100:
                new = ctx + needle_ids
            else:
                point = int(len(ctx) * (depth / 100))
                before = ctx[:point]
                while before and before[-1] not in period_ids:
                    point -= 1
                    before = ctx[:point]
                new = before + needle_ids + ctx[point:]
            rows.append({"length": length, "depth": depth, "context": dec(new)})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
