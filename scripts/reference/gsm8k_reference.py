# SPDX-License-Identifier: Apache-2.0
# Reference side of tests/unit/test_gsm8k_parity.cpp: lm-evaluation-harness 0.4.13 (PyPI) scoring of
# gsm8k / gsm8k_cot generations. The filter pipelines and metric options are read from the installed
# task YAMLs (lm_eval/tasks/gsm8k/gsm8k.yaml, gsm8k-cot.yaml); filters come from lm-eval's filter
# registry (RegexFilter, TakeFirstFilter) and the metric is the registered exact_match
# (lm_eval.api.metrics.exact_match_hf_evaluate), called per document as ConfigurableTask does.
# Usage: python gsm8k_reference.py cases.jsonl out.jsonl
import json
import os
import sys

import lm_eval
import lm_eval.filters  # registers the filters
import yaml
from lm_eval.api.metrics import exact_match_fn
from lm_eval.api.registry import get_filter

TASK_DIR = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "gsm8k")


def load_task(file_name):
    with open(os.path.join(TASK_DIR, file_name), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    pipelines = []
    for entry in config["filter_list"]:
        steps = []
        for step in entry["filter"]:
            kwargs = {k: v for k, v in step.items() if k != "function"}
            steps.append(get_filter(step["function"])(**kwargs))
        pipelines.append((entry["name"], steps))
    metric = config["metric_list"][0]
    kwargs = {k: v for k, v in metric.items() if k not in ("metric", "aggregation", "higher_is_better")}
    return pipelines, kwargs


TASKS = {"gsm8k": load_task("gsm8k.yaml"), "gsm8k_cot": load_task("gsm8k-cot.yaml")}

in_path, out_path = sys.argv[1:3]
with open(in_path, encoding="utf-8") as f, open(out_path, "w", encoding="utf-8") as out:
    for line in f:
        case = json.loads(line)
        pipelines, kwargs = TASKS[case["task"]]
        scores = {}
        for name, steps in pipelines:
            resps = [[case["prediction"]]]
            for step in steps:
                resps = list(step.apply(resps, [None]))
            filtered = resps[0]
            result = exact_match_fn(references=[case["target"]], predictions=[filtered], **kwargs)
            scores["exact_match," + name] = float(result["exact_match"])
            scores["filtered," + name] = filtered
        # exact_match itself on the unfiltered pair, under the YAML options and three variations.
        raw = {}
        for name, options in (("yaml", kwargs), ("yaml+punct+numbers", dict(kwargs, ignore_punctuation=True, ignore_numbers=True)),
                              ("case_only", {"ignore_case": True}), ("none", {})):
            result = exact_match_fn(references=[case["target"]], predictions=[case["prediction"]], **options)
            raw[name] = float(result["exact_match"])
        out.write(json.dumps({"id": case["id"], "scores": scores, "raw": raw}) + "\n")
