# SPDX-License-Identifier: Apache-2.0
# Reference side of tests/unit/test_ruler_parity.cpp.
#   * postprocess_pred and string_match_all: lm-eval 0.4.13 lm_eval/tasks/ruler/common_utils.py
#     (PyPI; loaded from its file because importing the lm_eval.tasks package needs `datasets`),
#     which matches NVIDIA/RULER scripts/eval/evaluate.py and synthetic/constants.py.
#   * string_match_part: lm-eval's version divides by len(ref) instead of taking the max, so this
#     file carries a test-only port of RULER's own function:
#     https://github.com/NVIDIA/RULER/blob/main/scripts/eval/synthetic/constants.py
# Each case is scored as a one-prediction call (the per-sample value before RULER's round(., 2)),
# and each group as RULER scores a task: the rounded value over all of its predictions.
# Usage: python ruler_reference.py cases.jsonl out.jsonl
import importlib.util
import json
import os
import sys

import lm_eval

_path = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "ruler", "common_utils.py")
_spec = importlib.util.spec_from_file_location("lm_eval_ruler_common_utils", _path)
ru = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ru)


def ruler_string_match_part(preds, refs):
    hits = [max(1.0 if r.lower() in pred.lower() else 0.0 for r in ref) for pred, ref in zip(preds, refs)]
    return sum(hits) / len(preds) * 100


def ruler_string_match_all(preds, refs):
    return ru.string_match_all(preds, refs) * 100


in_path, out_path = sys.argv[1:3]
cases = [json.loads(line) for line in open(in_path, encoding="utf-8")]
with open(out_path, "w", encoding="utf-8") as out:
    groups = {}
    for case in cases:
        pred = ru.postprocess_pred([case["prediction"]])[0]
        fn = ruler_string_match_all if case["metric"] == "all" else ruler_string_match_part
        score = fn([pred], [case["references"]])
        out.write(json.dumps({"id": case["id"], "postprocessed": pred, "score": score}) + "\n")
        groups.setdefault(case["metric"], ([], []))
        groups[case["metric"]][0].append(pred)
        groups[case["metric"]][1].append(case["references"])
    for metric, (preds, refs) in sorted(groups.items()):
        fn = ruler_string_match_all if metric == "all" else ruler_string_match_part
        out.write(json.dumps({"group": metric, "score": round(fn(preds, refs), 2)}) + "\n")
