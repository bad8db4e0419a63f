# SPDX-License-Identifier: Apache-2.0
"""Writes datasets/prompts/gsm8k_cot_fewshot.json: the 8 fixed chain-of-thought exemplars of
lm-evaluation-harness's `gsm8k_cot` task, read verbatim from the installed lm_eval package
(lm_eval/tasks/gsm8k/gsm8k-cot.yaml, fewshot_config.samples). Run with the kvbench venv python:
    python scripts/reference/export_gsm8k_cot_exemplars.py datasets/prompts/gsm8k_cot_fewshot.json
"""
import json
import os
import sys

import lm_eval
import yaml


def main() -> None:
    out_path = sys.argv[1]
    yaml_path = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "gsm8k", "gsm8k-cot.yaml")
    with open(yaml_path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    samples = config["fewshot_config"]["samples"]
    out = {
        "source": "EleutherAI/lm-evaluation-harness lm_eval/tasks/gsm8k/gsm8k-cot.yaml "
                  f"(lm_eval {lm_eval.__version__}) fewshot_config.samples",
        "samples": [{"question": s["question"], "target": s["target"]} for s in samples],
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
