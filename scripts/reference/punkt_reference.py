# SPDX-License-Identifier: Apache-2.0
"""Reference side of tests/datasets/test_punkt.cpp: nltk's own sent_tokenize (nltk 3.9.2, pinned in
scripts/requirements.txt; https://github.com/nltk/nltk/blob/3.9.2/nltk/tokenize/punkt.py) with the
English punkt_tab parameters kvbench ships in datasets/prompts/punkt_english, found through NLTK_DATA.

usage: punkt_reference.py TEXTS.json OUT.json   (a list of strings -> a list of sentence lists)
"""
import json
import os
import sys
import tempfile

PUNKT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "datasets", "prompts", "punkt_english")
home = tempfile.mkdtemp(prefix="kvbench_nltk_")
os.makedirs(os.path.join(home, "tokenizers", "punkt_tab"))
os.symlink(os.path.abspath(PUNKT_DIR), os.path.join(home, "tokenizers", "punkt_tab", "english"))
os.environ["NLTK_DATA"] = home
from nltk.tokenize import sent_tokenize  # noqa: E402

with open(sys.argv[1], encoding="utf-8") as f:
    texts = json.load(f)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump([sent_tokenize(t) for t in texts], f, ensure_ascii=False)
