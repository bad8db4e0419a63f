# SPDX-License-Identifier: Apache-2.0
"""Test-only port of RULER's NIAH data generation for tests/datasets/test_ruler.cpp:
https://github.com/NVIDIA/RULER/blob/c3f5e3b4f87f97e048793bb510a3a6b19a46bf3a/scripts/data/synthetic/niah.py
(generate_input_output, generate_samples), prepare.py (model template + answer prefix) and
template.py ('base', 'meta-llama3'), for the noise, needle and essay haystacks. The essay haystack
splits sentences with nltk's own sent_tokenize (nltk pinned in scripts/requirements.txt), fed the
English punkt_tab parameters kvbench ships (datasets/prompts/punkt_english) through NLTK_DATA. The prompt strings below are
transcribed from RULER's constants.py; the token counter is RULER's HFTokenizer (AutoTokenizer
.tokenize) on a local tokenizer folder. Python's `random` module drives every draw, as in RULER.

Word keys: niah.py builds sorted(set(adj + "-" + noun)) (40 s here); this script builds the same
list from the sorted "adj-" prefixes and sorted nouns (prefix-related adjectives sorted string by
string); --check-words builds it both ways and fails unless they are equal (a slow test runs it).

usage: ruler_niah_reference.py TOKENIZER_DIR RULER_DATA_DIR CONFIGS_JSON OUT.json
       (RULER_DATA_DIR holds wonderwords/ and PaulGrahamEssays.json.gz)
       CONFIGS_JSON: [{"variant", "max_seq", "num_samples", "seed", "model_template"}, ...]
       writes one list per config: [{"input", "answer_prefix", "outputs", "length",
       "token_position_answer"}, ...]
       ruler_niah_reference.py --check-words RULER_DATA_DIR
"""
import gzip
import json
import os
import random
import re
import sys
import tempfile
import uuid

import numpy as np
from transformers import AutoTokenizer

PUNKT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "datasets", "prompts", "punkt_english")
NLTK_HOME = tempfile.mkdtemp(prefix="kvbench_nltk_")
os.makedirs(os.path.join(NLTK_HOME, "tokenizers", "punkt_tab"))
os.symlink(os.path.abspath(PUNKT_DIR), os.path.join(NLTK_HOME, "tokenizers", "punkt_tab", "english"))
os.environ["NLTK_DATA"] = NLTK_HOME
import nltk  # noqa: E402  (reads NLTK_DATA on import)
from nltk.tokenize import sent_tokenize  # noqa: E402

DEPTHS = list(np.round(np.linspace(0, 100, num=40, endpoint=True)).astype(int))

TASK_TEMPLATE = ("Some special magic {type_needle_v} are hidden within the following text. Make sure to "
                 "memorize it. I will quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are "
                 "all the special magic {type_needle_v} for {query} mentioned in the provided text?")
ANSWER_PREFIX = " The special magic {type_needle_v} for {query} mentioned in the provided text are"
NEEDLE = "One of the special magic {type_needle_v} for {key} is: {value}."
NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
MODEL_TEMPLATES = {
    "base": "{task_template}",
    "meta-llama3": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{task_template}<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n",
}
VARIANTS = {  # synthetic.yaml
    "niah_single_1": ("noise", "words", "numbers", 1, 1, 1),
    "niah_multikey_2": ("needle", "words", "numbers", 1, 1, 1),
    "niah_multikey_3": ("needle", "uuids", "uuids", 1, 1, 1),
    "niah_single_2": ("essay", "words", "numbers", 1, 1, 1),
    "niah_single_3": ("essay", "words", "uuids", 1, 1, 1),
    "niah_multikey_1": ("essay", "words", "numbers", 4, 1, 1),
    "niah_multivalue": ("essay", "words", "numbers", 1, 4, 1),
    "niah_multiquery": ("essay", "words", "numbers", 1, 1, 4),
}
ESSAYS = {}
TOKENS_TO_GENERATE = 128


def read_words(ww_dir, name):
    with open(f"{ww_dir}/{name}") as f:
        return [w.rstrip() for w in f.readlines()]


def official_words(ww_dir):
    adjs, nouns = read_words(ww_dir, "adjectivelist.txt"), read_words(ww_dir, "nounlist.txt")
    return sorted(set(f"{a}-{n}" for a in adjs for n in nouns))


def fast_words(ww_dir):
    keys = sorted(set(a + "-" for a in read_words(ww_dir, "adjectivelist.txt")))
    nouns = sorted(set(read_words(ww_dir, "nounlist.txt")))
    out, i = [], 0
    while i < len(keys):
        j = i + 1
        while j < len(keys) and keys[j].startswith(keys[i]):
            j += 1
        out.extend(sorted(set(k + n for k in keys[i:j] for n in nouns)))
        i = j
    return out


WORDS_CACHE = {}


def generate(tokenizer, data_dir, variant, max_seq, num_samples, seed, model_template):
    ww_dir = os.path.join(data_dir, "wonderwords")
    count = lambda text: len(tokenizer.tokenize(text))
    haystack_type, type_k, type_v, num_k, num_v, num_q = VARIANTS[variant]
    num_k = max(num_k, num_q)
    template = MODEL_TEMPLATES[model_template].format(task_template=TASK_TEMPLATE) + ANSWER_PREFIX

    words = None
    if "words" in (type_k, type_v):
        if ww_dir not in WORDS_CACHE:
            WORDS_CACHE[ww_dir] = fast_words(ww_dir)
        words = WORDS_CACHE[ww_dir]

    haystack = None
    if haystack_type == "essay":
        if data_dir not in ESSAYS:
            with gzip.open(os.path.join(data_dir, "PaulGrahamEssays.json.gz"), "rt") as f:
                ESSAYS[data_dir] = re.sub(r"\s+", " ", json.load(f)["text"]).split(" ")
        haystack = ESSAYS[data_dir]

    random.seed(seed)

    def draw(kind):
        if kind == "numbers":
            return str(random.randint(10 ** 6, 10 ** 7 - 1))
        if kind == "words":
            return random.choice(words)
        return str(uuid.UUID(int=random.getrandbits(128), version=4))

    def make(num_haystack):
        keys, values, needles = [], [], []
        for _ in range(num_k):
            keys.append(draw(type_k))
            vals = []
            for _ in range(num_v):
                vals.append(draw(type_v))
                needles.append(NEEDLE.format(type_needle_v=type_v, key=keys[-1], value=vals[-1]))
            values.append(vals)
        random.Random(seed).shuffle(needles)
        if haystack_type == "essay":
            chunk = haystack[:num_haystack] if num_haystack <= len(haystack) else \
                (haystack * -(-num_haystack // len(haystack)))[:num_haystack]
            sents = sent_tokenize(" ".join(chunk).strip())
            cuts = [0] + sorted(int(len(sents) * (d / 100)) for d in random.sample(DEPTHS, len(needles))) + [len(sents)]
            pieces = []
            for i in range(1, len(cuts)):
                pieces.append(" ".join(sents[cuts[i - 1]:cuts[i]]))
                if i - 1 < len(needles):
                    pieces.append(needles[i - 1])
            context = " ".join(pieces)
        elif haystack_type == "noise":
            lines = [NOISE] * num_haystack
        else:
            lines = [NEEDLE.format(type_needle_v=type_v, key=draw(type_k), value=draw(type_v))
                     for _ in range(num_haystack)]
        if haystack_type != "essay":
            spots = sorted(random.sample(range(num_haystack), len(needles)), reverse=True)
            for spot, needle in zip(spots, needles):
                lines.insert(spot, needle)
            context = "\n".join(lines)
        chosen = random.sample(range(num_k), num_q)
        queries = [keys[i] for i in chosen]
        answers = [v for i in chosen for v in values[i]]
        query = ", ".join(queries[:-1]) + ", and " + queries[-1] if len(queries) > 1 else queries[0]
        text, kind_v = template, type_v
        if num_q * num_v == 1:
            for old, new in (("Some", "A"), ("are all", "is"), ("are", "is"), ("answers", "answer")):
                text = text.replace(old, new)
            kind_v = kind_v[:-1]
        return text.format(type_needle_v=kind_v, context=context, query=query), answers

    step = 500 if haystack_type == "essay" else (5 if max_seq < 4096 else 25)
    probe, _ = make(step)
    per_line = count(probe) / step
    lo, hi = step, max(int((max_seq / per_line) * 3), step * 2)
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        text, _ = make(mid)
        if count(text) + TOKENS_TO_GENERATE <= max_seq:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    size = best if best is not None else step

    rows = []
    for _ in range(num_samples):
        used = size
        while True:
            text, answers = make(used)
            length = count(text) + TOKENS_TO_GENERATE
            if length <= max_seq:
                break
            if used > step:
                used -= step
        cut = text.rfind(ANSWER_PREFIX[:10])
        prompt, prefix = text[:cut], text[cut:]
        rows.append({"input": prompt, "answer_prefix": prefix, "outputs": answers, "length": length,
                     "token_position_answer": count(prompt[:prompt.find(answers[0])])})
    return rows


def main():
    if sys.argv[1] == "--check-words":
        fast, official = fast_words(sys.argv[2] + "/wonderwords"), official_words(sys.argv[2] + "/wonderwords")
        print(len(fast), len(official))
        sys.exit(0 if fast == official else 1)
    tok_dir, data_dir, configs_path, out_path = sys.argv[1:5]
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    with open(configs_path) as f:
        configs = json.load(f)
    out = [generate(tokenizer, data_dir, c["variant"], c["max_seq"], c["num_samples"], c["seed"],
                    c["model_template"]) for c in configs]
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
