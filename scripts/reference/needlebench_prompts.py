# SPDX-License-Identifier: Apache-2.0
"""Test-only port of OpenCompass NeedleBench v2 parallel (multi-needle retrieval) prompt building for
tests/datasets/test_needlebench.cpp:
https://github.com/open-compass/opencompass/blob/main/opencompass/datasets/needlebench_v2/parallel.py
(get_unique_entries, NeedleBenchParallelDataset.load, English). tiktoken's gpt-4 encoding is replaced by
the Hugging Face `tokenizers` library with the given tokenizer.json (encode without special tokens,
plain decode, as tiktoken does); the global random state is seeded with NEEDLE_SEED before
get_unique_entries (OpenCompass leaves it unseeded). The chat form is transformers'
apply_chat_template([user], add_generation_prompt=True) on TOKENIZER_DIR.

usage: needlebench_prompts.py DATA_DIR TOKENIZER_DIR LENGTHS DEPTHS BUFFER REPEATS NEEDLE_SEED OUT.json
writes [{"length", "repeat", "prompt", "answer", "chat"}, ...]
"""
import gzip
import json
import random
import sys

from tokenizers import Tokenizer
from transformers import AutoTokenizer


def pick_needles(path, n, language):
    with open(path, "r", encoding="utf-8") as f:
        lines = f.readlines()
    random.shuffle(lines)
    seen_a, seen_b, seen_ab, picked = set(), set(), set(), []
    for line in lines:
        try:
            entry = json.loads(line.strip())
        except json.JSONDecodeError:
            continue
        if entry.get("language") != language:
            continue
        a, b = entry.get("arg1", ""), entry.get("arg2", "")
        if a in seen_a or b in seen_b or (a, b) in seen_ab:
            continue
        seen_a.add(a)
        seen_b.add(b)
        seen_ab.add((a, b))
        picked.append(entry)
        if len(picked) == n:
            break
    return picked


def main():
    data_dir, tok_dir, lengths, depths, buffer, repeats, needle_seed, out_path = sys.argv[1:9]
    lengths = [int(x) for x in lengths.split(",")]
    depths = [int(x) for x in depths.split(",")]
    buffer, repeats = int(buffer), int(repeats)
    tok = Tokenizer.from_file(f"{tok_dir}/tokenizer.json")
    enc = lambda text: tok.encode(text, add_special_tokens=False).ids
    chat_tok = AutoTokenizer.from_pretrained(tok_dir)
    with gzip.open(f"{data_dir}/PaulGrahamEssays.jsonl.gz", "rt", encoding="utf-8") as f:
        essays_bak = [json.loads(line.strip()) for line in f]

    rows = []
    for length in lengths:
        random.seed(int(needle_seed))
        chosen = pick_needles(f"{data_dir}/needles.jsonl", len(depths), "English")
        essays = essays_bak.copy()
        for counter in range(repeats):
            random.seed(counter)
            random.shuffle(essays)
            needles_info = chosen.copy()
            random.seed(counter)
            random.shuffle(needles_info)
            needles = ["\n" + item["needle"] + "\n" for item in needles_info]
            keywords = [item["arg2"] for item in needles_info]
            questions = "、".join(item["retrieval_question"].split("?")[0] + "?" for item in needles_info)
            formats = "、".join(item["retrieval_question"].split("'")[1].split(".")[0] for item in needles_info)
            question = questions + "Please answer in the format of '" + formats + "'"

            target = max(length - buffer - sum(len(enc(n)) for n in needles), 0)
            ids = []
            for essay in essays:
                ids.extend(enc(essay["text"]))
                if len(ids) >= target:
                    break
            ids = ids[:target]
            spots = [int(len(ids) * (d / 100)) for d in depths]
            shift = 0
            for i, needle in enumerate(needles):
                piece = enc(needle)
                at = min(spots[i] + shift, len(ids))
                ids = ids[:at] + piece + ids[at:]
                shift += len(piece)
            context = tok.decode(ids, skip_special_tokens=False)
            prompt = ("This is a test of long-text capability. You need to first read the long document below, "
                      "and then answer the final questions one by one based on the information in the document.\n"
                      "The content of the long document is as follows\n\n<Document>\n" + context +
                      "\n</Document>\n\nBased on the information in the document, now please answer: " +
                      question + "\n")
            chat = chat_tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                add_generation_prompt=True)
            rows.append({"length": length, "repeat": counter, "prompt": prompt, "chat": chat,
                         "answer": "*".join(keywords) + "#" + "*".join(map(str, depths))})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
