# SPDX-License-Identifier: Apache-2.0
"""Reference prompts for kvbench's LongBench prompt-parity test (tests/datasets/test_longbench.cpp):
the prompt recipe of THUDM/LongBench LongBench/pred.py (commit 2e00731, get_pred) run with
transformers on the same records, tokenizer and chat template.

Per record, as get_pred does it:
  prompt = dataset2prompt[dataset].format(**record)
  ids = tokenizer(prompt, truncation=False).input_ids      (special tokens added, e.g. BOS)
  if len(ids) > max_length: half = int(max_length / 2);
      prompt = decode(ids[:half], skip_special_tokens=True) + decode(ids[-half:], skip_special_tokens=True)
  datasets outside trec/triviaqa/samsum/lsht/lcc/repobench-p: build_chat(prompt)
  input_ids = tokenizer(prompt).input_ids
pred.py's build_chat is hard-coded per model (none of them current); kvbench uses the model's own
chat template, so build_chat here is transformers' apply_chat_template([{"role": "user", "content":
prompt}], add_generation_prompt=True), tokenized as apply_chat_template(tokenize=True) does (no
special tokens added on top: the template writes them). samsum's extra stop id is
tokenizer.encode("\\n", add_special_tokens=False)[-1].

usage: longbench_prompts.py --config-dir DIR --cases CASES.json --out OUT.json
  CASES.json: [{"name", "dataset", "file" (jsonl or jsonl.gz), "limit", "max_length",
                "tokenizer_dir" (AutoTokenizer folder), "chat_template" (a .jinja path, or null for
                the folder's own template), "template_vars" ({} or e.g. {"date_string": ...})}, ...]
  OUT.json:   {"transformers_version", "cases": {name: [{"_id", "prompt", "truncated",
               "tokens", "chat", "rendered", "input_ids", "newline_id"}, ...]}}
"""
import argparse
import gzip
import json

NO_CHAT = ["trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p"]


def read_records(path, limit):
    opener = gzip.open if path.endswith(".gz") else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            out.append(json.loads(line))
            if limit and len(out) >= limit:
                break
    return out


_TOKENIZERS = {}


def run_case(case, dataset2prompt):
    from transformers import AutoTokenizer

    if case["tokenizer_dir"] not in _TOKENIZERS:
        _TOKENIZERS[case["tokenizer_dir"]] = AutoTokenizer.from_pretrained(case["tokenizer_dir"])
    tokenizer = _TOKENIZERS[case["tokenizer_dir"]]
    template = None
    if case.get("chat_template"):
        with open(case["chat_template"], encoding="utf-8") as f:
            template = f.read()
    template_vars = case.get("template_vars") or {}
    dataset = case["dataset"]
    max_length = case["max_length"]
    prompt_format = dataset2prompt[dataset]
    rows = []
    for json_obj in read_records(case["file"], case.get("limit", 0)):
        prompt = prompt_format.format(**json_obj)
        tokenized_prompt = tokenizer(prompt, truncation=False).input_ids
        truncated = False
        if max_length and len(tokenized_prompt) > max_length:
            half = int(max_length / 2)
            prompt = tokenizer.decode(tokenized_prompt[:half], skip_special_tokens=True) + \
                tokenizer.decode(tokenized_prompt[-half:], skip_special_tokens=True)
            truncated = True
        chat = dataset not in NO_CHAT
        if chat:
            messages = [{"role": "user", "content": prompt}]
            rendered = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False,
                                                     add_generation_prompt=True, **template_vars)
            input_ids = list(tokenizer.apply_chat_template(
                messages, chat_template=template, tokenize=True, add_generation_prompt=True,
                return_dict=True, **template_vars)["input_ids"])
            assert input_ids == tokenizer(rendered, add_special_tokens=False).input_ids
        else:
            rendered = prompt
            input_ids = tokenizer(prompt, truncation=False).input_ids
        rows.append({"_id": json_obj["_id"], "prompt": prompt, "truncated": truncated,
                     "tokens": len(tokenized_prompt), "chat": chat, "rendered": rendered,
                     "input_ids": list(input_ids),
                     "newline_id": tokenizer.encode("\n", add_special_tokens=False)[-1]})
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config-dir", required=True)
    parser.add_argument("--cases", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(f"{args.config_dir}/dataset2prompt.json", encoding="utf-8") as f:
        dataset2prompt = json.load(f)
    with open(args.cases, encoding="utf-8") as f:
        cases = json.load(f)
    import transformers
    out = {"transformers_version": transformers.__version__, "cases": {}}
    for case in cases:
        out["cases"][case["name"]] = run_case(case, dataset2prompt)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
