# SPDX-License-Identifier: Apache-2.0
"""Demo prompts shared by the embedded-model reference scripts: a RULER-style passkey (NIAH) prompt
over Paul Graham essays, a GSM8K test question, and a name/age JSON extraction prompt. Everything is
built deterministically from ../shared/data (env KVBENCH_DATA_DIR) and a seed, so the C++ side and
the Python references see byte-identical text."""
from __future__ import annotations

import gzip
import json
import os
import pathlib
import random

REPO = pathlib.Path(__file__).resolve().parents[2]


def data_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("KVBENCH_DATA_DIR") or REPO.parent / "shared" / "data")


def haystack_words() -> list[str]:
    """RULER's essay haystack: PaulGrahamEssays.json 'text', whitespace-normalised, split on spaces."""
    with gzip.open(data_dir() / "niah" / "ruler" / "PaulGrahamEssays.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)["text"].split()


def passkey_prompt(n_words: int, depth: float, seed: int) -> tuple[str, str]:
    """(user message, 7-digit answer): RULER niah_single_2 wording (singular form), the needle
    inserted after word round(depth * n_words) of the first n_words essay words."""
    rng = random.Random(seed)
    key = rng.choice(["bright-river", "silent-mountain", "golden-lantern", "quick-harbor", "amber-forest"])
    value = str(rng.randint(1_000_000, 9_999_999))
    words = haystack_words()[:n_words]
    at = round(depth * len(words))
    needle = f"One of the special magic numbers for {key} is: {value}."
    context = " ".join(words[:at] + [needle] + words[at:])
    prompt = ("A special magic number is hidden within the following text. Make sure to memorize it. "
              "I will quiz you about the number afterwards.\n"
              f"{context}\n"
              f"What is the special magic number for {key} mentioned in the provided text?")
    return prompt, value


def gsm8k_question(index: int) -> tuple[str, str]:
    """(question, final answer) of GSM8K test record `index`."""
    with open(data_dir() / "gsm8k" / "test.jsonl", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i == index:
                rec = json.loads(line)
                return rec["question"], rec["answer"].rsplit("#### ", 1)[1].strip()
    raise IndexError(f"gsm8k/test.jsonl has no record {index}")


def extraction_prompt(seed: int, n_people: int = 3) -> tuple[str, list[dict]]:
    """(user message, gold list of {"name", "age"}): people mentioned in short prose."""
    rng = random.Random(seed)
    names = rng.sample(["Alice", "Bob", "Carmen", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas"],
                       n_people)
    people = [{"name": n, "age": rng.randint(18, 90)} for n in names]
    places = ["the library", "the park", "a cafe", "the train station", "the market"]
    text = " ".join(f"{p['name']} is {p['age']} years old and was seen at {rng.choice(places)}." for p in people)
    prompt = ("Extract every person mentioned in the text below as a JSON list of objects with the keys "
              "\"name\" (string) and \"age\" (integer). Output only the JSON.\n\n"
              f"Text: {text}")
    return prompt, people
