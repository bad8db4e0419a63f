# SPDX-License-Identifier: Apache-2.0
# Reference side of tests/unit/test_text2json_parity.cpp: a test-only Python port of the authors'
# default Text2JSON scorer, Text2jsonEvaluator.score in
# https://github.com/yandex-research/context-intensive-kv-offloading/blob/main/shadowkv-opencompass/opencompass/datasets/text2json.py
# (the package is not on PyPI and needs opencompass). The port keeps the original's statements in
# order, including where Python raises: those samples are reported as {"error": ...}.
# Per sample it returns what the sample adds to the evaluator (bad, or sample_score / union); the
# final line is the evaluator's average_score over the samples that do not raise.
# Usage: python text2json_reference.py cases.jsonl out.jsonl
import json
import sys


def score_one(p, g):
    """Returns ("bad", None) or ("score", value) exactly as the evaluator accounts the sample."""
    gold_list = json.loads(g)
    assert type(gold_list) == list, type(gold_list)
    gold_by_name = {}
    for instance in gold_list:
        assert len(instance.keys()) == 3
        name = instance["name"].replace("\u2019", "'")
        del instance["name"]
        if name in gold_by_name:
            return "bad", None
        gold_by_name[name] = instance
    full, missing, wrong = 1, 1 / 2, 1 / 4
    union = len(gold_by_name)
    if p.count("[") != 1 or p.count("]") != 1 or p.index("[") > p.index("]"):
        return "score", 0.0
    p = p[p.index("["): p.index("]") + 1]
    try:
        predicted = json.loads(p)
    except Exception:
        return "score", 0.0
    if type(predicted) != list:
        return "score", 0.0
    total = 0
    for instance in predicted:
        if "name" not in instance or type(instance["name"]) != str:
            union += 1
            continue
        name = instance["name"].replace("\u2019", "'")
        if name not in gold_by_name:
            union += 1
            continue
        credit = full
        for key, value in gold_by_name[name].items():
            if key not in instance or instance[key] is None:
                credit -= missing
            else:
                assert type(value) == str
                if type(instance[key]) == int:
                    instance[key] = str(instance[key])
                value = value.replace("\u2019", "'")
                instance[key] = instance[key].replace("\u2019", "'")
                if value != instance[key]:
                    credit -= wrong
        total += credit
        del gold_by_name[name]
    return "score", total / union


in_path, out_path = sys.argv[1:3]
total_score, n_samples, bad_samples = 0, 0, 0
with open(in_path, encoding="utf-8") as f, open(out_path, "w", encoding="utf-8") as out:
    for line in f:
        case = json.loads(line)
        try:
            kind, value = score_one(case["prediction"], case["gold"])
        except Exception as e:
            out.write(json.dumps({"id": case["id"], "error": type(e).__name__}) + "\n")
            continue
        n_samples += 1
        if kind == "bad":
            bad_samples += 1
            out.write(json.dumps({"id": case["id"], "bad": True}) + "\n")
        else:
            total_score += value
            out.write(json.dumps({"id": case["id"], "bad": False, "score": value}) + "\n")
    out.write(json.dumps({"average_score": 100 * total_score / (n_samples - bad_samples)}) + "\n")
