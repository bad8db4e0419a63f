# SPDX-License-Identifier: Apache-2.0
# Reference side of tests/unit/test_needlebench_parity.cpp: a test-only Python port of OpenCompass'
# NeedleBenchParallelEvaluator.score as shipped by the paper's harness:
# https://github.com/yandex-research/context-intensive-kv-offloading/blob/main/shadowkv-opencompass/opencompass/datasets/needlebench_v2/parallel.py
# (opencompass is not installable offline). Each case is scored alone (a one-prediction run of the
# evaluator) and all cases together (the task-level result).
# Usage: python needlebench_reference.py cases.jsonl out.jsonl
import json
import sys


def evaluate(predictions, gold):
    depths = [int(d) for d in gold[0].split("#")[1].split("*")]
    by_depth = {d: 0 for d in depths}
    for prediction, reference in zip(predictions, gold):
        keywords = reference.split("#")[0].split("*")
        for keyword, depth in zip(keywords, depths):
            if keyword in prediction:
                by_depth[depth] += 100 / len(predictions)
    result = {"Depth" + str(d): s for d, s in by_depth.items()}
    result["average_score"] = sum(by_depth.values()) / len(by_depth)
    return result


in_path, out_path = sys.argv[1:3]
cases = [json.loads(line) for line in open(in_path, encoding="utf-8")]
with open(out_path, "w", encoding="utf-8") as out:
    for case in cases:
        out.write(json.dumps({"id": case["id"], "scores": evaluate([case["prediction"]], [case["answer"]])}) + "\n")
    total = evaluate([c["prediction"] for c in cases], [c["answer"] for c in cases])
    out.write(json.dumps({"task": [[k, v] for k, v in total.items()]}) + "\n")
