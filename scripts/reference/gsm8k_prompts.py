# SPDX-License-Identifier: Apache-2.0
"""Reference prompts for kvbench's gsm8k / gsm8k_cot parity test, built by the real
lm-evaluation-harness (lm-eval==0.4.13, scripts/requirements-nodeps.txt) from the local GSM8K
files, offline.

Per case, lm-eval's own task YAML is loaded from the installed package; only the dataset source is
swapped for the local jsonl files (datasets' "json" builder). The fewshot seed is set as
lm_eval.evaluator.simple_evaluate does (task.set_fewshot_seed), then task.build_all_requests builds
the contexts exactly as `lm_eval run` would. In chat mode the chat-template callable either records
the message list lm-eval hands to the template ("messages"), or, with "hf_model_dir", renders it
with transformers' apply_chat_template as lm-eval's HFLM.apply_chat_template calls it ("rendered").

usage: gsm8k_prompts.py --data-dir DIR --cases CASES.json --out OUT.json
  CASES.json: [{"name", "task": gsm8k|gsm8k_cot, "limit", "chat": none|multiturn|singleturn,
                "system" (optional), "seed" (default 1234), "hf_model_dir" (optional)}, ...]
  OUT.json:   {"lm_eval_version", "cases": {name: [{"doc_id", "target", "until", "prompt" |
               "messages" + "add_generation_prompt" | "rendered"}, ...]}}
"""
import argparse
import json
import os
import sys
import tempfile


def build_task(task_name, data_dir):
    import lm_eval
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    yaml_name = {"gsm8k": "gsm8k.yaml", "gsm8k_cot": "gsm8k-cot.yaml"}[task_name]
    config = load_yaml(os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "gsm8k", yaml_name))
    data_files = {"test": os.path.join(data_dir, "test.jsonl")}
    if task_name == "gsm8k":
        data_files["train"] = os.path.join(data_dir, "train.jsonl.gz")
    config["dataset_path"] = "json"
    config.pop("dataset_name", None)
    config["dataset_kwargs"] = {"data_files": data_files}
    return ConfigurableTask(config=config)


def chat_renderer(hf_model_dir):
    if not hf_model_dir:
        def record(history, add_generation_prompt=True):
            return json.dumps({"messages": history, "add_generation_prompt": add_generation_prompt})
        return record

    from transformers import AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(hf_model_dir)

    # lm_eval/models/huggingface.py HFLM.apply_chat_template (chat_template_args empty).
    def render(history, add_generation_prompt=True):
        return json.dumps({"rendered": hf_tok.apply_chat_template(
            history, tokenize=False, add_generation_prompt=add_generation_prompt,
            continue_final_message=not add_generation_prompt)})
    return render


def run_case(case, data_dir):
    task = build_task(case["task"], data_dir)
    task.set_fewshot_seed(seed=case.get("seed", 1234))
    chat = case.get("chat", "none") != "none"
    task.build_all_requests(
        limit=case["limit"],
        system_instruction=case.get("system") or None,
        apply_chat_template=chat,
        fewshot_as_multiturn=case.get("chat") == "multiturn",
        chat_template=chat_renderer(case.get("hf_model_dir")) if chat else None,
    )
    rows = []
    for inst in sorted(task.instances, key=lambda i: i.doc_id):
        context, gen_kwargs = inst.arguments
        row = {"doc_id": inst.doc_id, "target": task.doc_to_target(inst.doc), "until": gen_kwargs["until"]}
        if chat:
            row.update(json.loads(context))
        else:
            row["prompt"] = context
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="kvbench-hf-datasets-")
    import lm_eval

    with open(args.cases, encoding="utf-8") as f:
        cases = json.load(f)
    out = {"lm_eval_version": lm_eval.__version__,
           "cases": {case["name"]: run_case(case, args.data_dir) for case in cases}}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
