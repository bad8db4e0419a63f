# SPDX-License-Identifier: Apache-2.0
# Reference side of tests/unit/test_longproc_parity.cpp: a test-only Python port of the LongProc
# HTML-to-TSV metric the paper's harness uses,
# https://github.com/yandex-research/context-intensive-kv-offloading/blob/main/shadowkv-opencompass/opencompass/datasets/longproc/html_to_tsv_evaluator.py
# (evaluate_html_to_csv_compute_metrics) after longproc_data.py eval_html_to_tsv's ```tsv extraction, running on the same libraries: Python's csv module and
# pandas (pinned in scripts/requirements-reference.txt). Prints are dropped; results are per case.
# Usage: python longproc_reference.py cases.jsonl out.jsonl
import csv
import json
import re
import string
import sys

import pandas as pd

ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
PUNCTUATION = set(string.punctuation)


def normalize(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in PUNCTUATION)
    s = ARTICLES.sub(" ", s)
    s = " ".join(s.split())
    return s.replace(" ", "")


def to_frame(lines):
    try:
        rows = list(csv.reader(lines, delimiter="\t"))
        header = rows[0]
        rows = rows[1:]
        if len(rows[-1]) != len(header):
            rows = rows[:-1]
        for i, row in enumerate(rows):
            if len(row) != len(header):
                rows[i] = ["N/A" for _ in range(len(header))]
        frame = pd.DataFrame(rows, columns=header)
        frame = frame.fillna("N/A")
        for column in frame.columns:
            frame[column] = frame[column].astype(str).apply(normalize)
        return frame
    except Exception:
        return None


def metrics(prediction, groundtruth):
    try:
        gt = to_frame(groundtruth.lstrip().rstrip().split("\n"))
        pred = to_frame(prediction.lstrip().rstrip().split("\n"))
        precision = 0
        for i in range(len(pred.index)):
            precision += gt.eq(pred.iloc[i].values).all(axis=1).any()
        precision /= len(pred.index)
        recall = 0
        for i in range(len(gt.index)):
            recall += pred.eq(gt.iloc[i].values).all(axis=1).any()
        recall /= len(gt.index)
        f1 = 0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)
        return {"precision": float(precision), "recall": float(recall), "f1": float(f1), "error": False}
    except Exception:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "error": True}


def extract(prediction):
    # longproc_data.py eval_html_to_tsv: the answer's ```tsv block (same regex and fallbacks).
    search = re.search(r"```tsv([\s\S]*)```", prediction)
    if search is not None:
        return search.group(1).strip()
    if "```tsv" in prediction:
        prediction = prediction.split("```tsv")[1]
    return prediction.strip()


in_path, out_path = sys.argv[1:3]
with open(in_path, encoding="utf-8") as f, open(out_path, "w", encoding="utf-8") as out:
    for line in f:
        case = json.loads(line)
        out.write(json.dumps({"id": case["id"], "scores": metrics(extract(case["prediction"]), case["gt"])}) + "\n")
