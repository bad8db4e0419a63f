# SPDX-License-Identifier: Apache-2.0
"""Test-only port of LongProc's html_to_tsv prompt construction for tests/datasets/test_longproc.cpp:
https://github.com/princeton-pli/LongProc/blob/main/longproc/longproc_data.py (_load_html_to_tsv_data,
load_longproc_data: prompts.yaml USER_PROMPT via yaml.safe_load, template.format(**d) with the page read
in text mode) and example_usage.py (query_hf: apply_chat_template([user], add_generation_prompt=True)).
The page comes from the `html` field of the shipped jsonl.gz instead of webpage/<html_path>.

usage: longproc_prompts.py DATA_DIR GROUP LIMIT TOKENIZER_DIR OUT.json
writes [{"task_id", "prompt", "reference", "chat"}, ...] for the first LIMIT tasks
"""
import gzip
import io
import json
import sys

import yaml
from transformers import AutoTokenizer


def main():
    data_dir, group, limit, tok_dir, out_path = sys.argv[1:6]
    with open(f"{data_dir}/prompts.yaml") as f:
        template = yaml.safe_load(f)["USER_PROMPT"]
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    rows = []
    with gzip.open(f"{data_dir}/html_to_tsv_{group}.jsonl.gz", "rb") as f:
        for raw in f:
            d = json.loads(raw)
            page = io.TextIOWrapper(io.BytesIO(d["html"].encode("utf-8")), encoding="utf-8").read()
            item = {"task_id": d["task_id"], "website_id": d["website_id"], "task_topic": d["task_topic"],
                    "task_description": d["task_description"], "html_str": page,
                    "reference_output": d["gt"], "tsv_header": d["tsv_header"],
                    "filtering_instruction": d["filtering_instruction"]}
            prompt = template.format(**item)
            chat = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                 add_generation_prompt=True)
            rows.append({"task_id": d["task_id"], "prompt": prompt, "reference": d["gt"], "chat": chat})
            if len(rows) == int(limit):
                break
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
