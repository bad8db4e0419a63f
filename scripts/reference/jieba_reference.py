# SPDX-License-Identifier: Apache-2.0
# Reference side of tests/unit/test_jieba_parity.cpp: PyPI jieba 0.42.1's default segmentation,
# list(jieba.cut(text, cut_all=False)), as LongBench's qa_f1_zh_score and rouge_zh_score call it.
# Also prints the sha256 of the package's dict.txt so the test can check the vendored copy.
# Usage: python jieba_reference.py texts.jsonl out.jsonl
import hashlib
import json
import logging
import os
import sys

import jieba

jieba.setLogLevel(logging.WARNING)
in_path, out_path = sys.argv[1:3]
with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), "rb") as f:
    dict_sha = hashlib.sha256(f.read()).hexdigest()
with open(in_path, encoding="utf-8") as f, open(out_path, "w", encoding="utf-8") as out:
    out.write(json.dumps({"jieba_version": jieba.__version__, "dict_sha256": dict_sha}) + "\n")
    for line in f:
        row = json.loads(line)
        out.write(json.dumps({"id": row["id"], "tokens": list(jieba.cut(row["text"], cut_all=False))}) + "\n")
