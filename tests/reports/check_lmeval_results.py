# SPDX-License-Identifier: Apache-2.0
"""Checks kvbench's lm-evaluation-harness export with lm-eval's own code (lm-eval 0.4.x in the test
venv, installed --no-deps): every results_*.json under the folder given is found by
lm_eval.utils.get_results_filenames, validates strictly against lm_eval.result_schema.EvalResults
(pydantic, as lm-eval's TypedDicts declare it), and its metric keys follow lm-eval's
"<metric>,<filter>" / "<metric>_stderr,<filter>" convention. A deliberately broken copy must fail
validation, so the check cannot pass vacuously. Usage: check_lmeval_results.py DIR EXPECTED_TASKS..."""
import copy
import glob
import json
import os
import sys

import pydantic
from lm_eval import result_schema, utils


def main() -> int:
    folder, expected_tasks = sys.argv[1], set(sys.argv[2:])
    files = sorted(glob.glob(os.path.join(folder, "*.json")))
    found = utils.get_results_filenames(files)
    assert files and sorted(found) == files, f"lm-eval does not see {files} as results files (found {found})"
    adapter = pydantic.TypeAdapter(result_schema.EvalResults)
    for path in files:
        with open(path) as f:
            doc = json.load(f)
        adapter.validate_python(doc, strict=True)
        assert set(doc["results"]) == expected_tasks, (path, set(doc["results"]), expected_tasks)
        for task, metrics in doc["results"].items():
            values = {k: v for k, v in metrics.items() if k not in ("alias", "name", "sample_len")}
            assert values, f"{path}: {task} has no metric"
            for key, value in values.items():
                metric, sep, flt = key.partition(",")
                assert sep and flt, f"{path}: {task}: key {key!r} is not '<metric>,<filter>'"
                assert isinstance(value, float), (path, key, value)
                if not metric.endswith("_stderr"):
                    assert f"{metric}_stderr,{flt}" in metrics, f"{path}: {task}: no stderr for {key}"
            assert doc["n-samples"][task]["effective"] == metrics["sample_len"], (path, task)
            assert task in doc["configs"] and task in doc["versions"] and task in doc["higher_is_better"]
        broken = copy.deepcopy(doc)
        broken["n-samples"][next(iter(broken["n-samples"]))] = {"original": "many"}
        try:
            adapter.validate_python(broken, strict=True)
        except pydantic.ValidationError:
            pass
        else:
            raise AssertionError("the schema check accepted a broken document")
    print(f"{len(files)} lm-eval results files valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
