# SPDX-License-Identifier: Apache-2.0
"""Reference prompts for kvbench's gsm8k / gsm8k_cot parity test, built by the real
lm-evaluation-harness (pinned in scripts/requirements.txt) from the local GSM8K files, offline.

lm-eval's own task YAML is loaded from the installed package; only the dataset source is swapped
for the local jsonl files (datasets' "json" builder). The fewshot seed is set as
lm_eval.evaluator.simple_evaluate does (task.set_fewshot_seed), then task.build_all_requests
builds the contexts exactly as `lm_eval run` would. In chat mode the chat-template callable
records the message list lm-eval hands to the tokenizer's template instead of rendering it.

With --hf-model-dir, chat prompts are rendered by transformers' apply_chat_template with that
folder's tokenizer, as lm-eval's HFLM.apply_chat_template calls it ("rendered" in each row).

usage: gsm8k_prompts.py --task gsm8k|gsm8k_cot --data-dir DIR --limit N
                        [--chat none|multiturn|singleturn] [--system TEXT] [--seed 1234]
                        [--hf-model-dir DIR] --out FILE
"""
import argparse
import json
import os
import sys
import tempfile


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", required=True, choices=["gsm8k", "gsm8k_cot"])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--limit", type=int, required=True)
    ap.add_argument("--chat", default="none", choices=["none", "multiturn", "singleturn"])
    ap.add_argument("--system", default=None)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--hf-model-dir", default=None,
                    help="render chat prompts with this folder's tokenizer as lm-eval's HFLM does")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    cache = tempfile.mkdtemp(prefix="kvbench-hf-datasets-")
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_CACHE"] = cache

    import lm_eval
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    yaml_name = {"gsm8k": "gsm8k.yaml", "gsm8k_cot": "gsm8k-cot.yaml"}[args.task]
    yaml_path = os.path.join(os.path.dirname(lm_eval.__file__), "tasks", "gsm8k", yaml_name)
    config = load_yaml(yaml_path)
    data_files = {"test": os.path.join(args.data_dir, "test.jsonl")}
    if args.task == "gsm8k":
        data_files["train"] = os.path.join(args.data_dir, "train.jsonl.gz")
    config["dataset_path"] = "json"
    config.pop("dataset_name", None)
    config["dataset_kwargs"] = {"data_files": data_files}

    task = ConfigurableTask(config=config)
    task.set_fewshot_seed(seed=args.seed)

    def record_chat(history, add_generation_prompt=True):
        return json.dumps({"messages": history, "add_generation_prompt": add_generation_prompt})

    render = record_chat
    if args.hf_model_dir:
        from transformers import AutoTokenizer

        hf_tok = AutoTokenizer.from_pretrained(args.hf_model_dir)

        # lm_eval/models/huggingface.py HFLM.apply_chat_template (chat_template_args empty).
        def render(history, add_generation_prompt=True):
            return json.dumps({"rendered": hf_tok.apply_chat_template(
                history, tokenize=False, add_generation_prompt=add_generation_prompt,
                continue_final_message=not add_generation_prompt)})

    chat = args.chat != "none"
    task.build_all_requests(
        limit=args.limit,
        system_instruction=args.system,
        apply_chat_template=chat,
        fewshot_as_multiturn=args.chat == "multiturn",
        chat_template=render if chat else None,
    )
    rows = []
    for inst in sorted(task.instances, key=lambda i: i.doc_id):
        context, gen_kwargs = inst.arguments
        row = {"doc_id": inst.doc_id, "target": task.doc_to_target(inst.doc),
               "until": gen_kwargs["until"]}
        if chat:
            row.update(json.loads(context))
        else:
            row["prompt"] = context
        rows.append(row)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"lm_eval_version": lm_eval.__version__, "rows": rows}, f, ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
