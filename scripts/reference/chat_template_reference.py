# SPDX-License-Identifier: Apache-2.0
"""Chat-template side of the tokenizer reference: renders conversations with transformers'
apply_chat_template (tokenize=False, and tokenize=True for the ids) and writes one JSON list of
cases for tests/unit/test_chat_template_parity.cpp."""
import json
import os

# SmolLM2-Instruct's tokenizer_config.json "chat_template" (not in ../shared/data: written out here
# so the C++ side loads it from a file like any other template).
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}")
# (the "\n" above are real newlines, as in the decoded JSON string of the model's config)

U = lambda c: {"role": "user", "content": c}
A = lambda c: {"role": "assistant", "content": c}
S = lambda c: {"role": "system", "content": c}

CONVERSATIONS = {
    "single_turn": [U("What is 2+2?")],
    "system_user": [S("You are a helpful assistant."), U("Extract the names as JSON: Alice met Bob in Paris.")],
    "multi_turn": [U("Hi!"), A("Hello! How can I help?"), U("Count to three.")],
    "system_multi_turn_padded": [S("  Be terse.\n\n"), U("\n  First question?  "), A(" One. \n"),
                                 U("Second\u3000question?\u2003")],
    "ends_with_assistant": [S("sys"), U("Say hi"), A("hi")],
    "unicode_and_specials": [U("Zürich — 東京 😀 <|im_start|> <|eot_id|> <think>x</think> tab\there")],
    "second_system": [S("first system"), U("q1"), S("second system"), U("q2")],
    "thinking_history": [U("What is 3*4?"), A("<think>\nmultiply\n</think>\n\n12"), U("And 5*6?"),
                         A("<think>\n\n30 because 5*6\n\n</think>\n\n\n30")],
    "thinking_last_query": [S("s"), U("q"), A("<think>r1</think>a1"), U("<tool_response>\nok\n</tool_response>"),
                            A("no think")],
}


def _cases(data_dir, out_dir):
    t = os.path.join(data_dir, "tokenizers")
    ct = os.path.join(t, "chat_templates")
    smol_path = os.path.join(out_dir, "smollm2.chat_template.jinja")
    with open(smol_path, "w") as f:
        f.write(SMOLLM2_TEMPLATE)
    bos = "<|begin_of_text|>"
    # name, template file (None = the model folder's tokenizer_config.json), model folder,
    # tokenizer.json (None = no ids), bos, extra-variable variants
    dates = [{"date_string": "26 Jul 2024"}, {"date_string": "05 Mar 2025"}]
    return [
        ("llama3", None, f"{t}/llama3", f"{t}/llama3/tokenizer.json", bos, [{}]),
        ("llama3-generation", None, f"{t}/llama3-lenml_llama3_1", f"{t}/llama3-lenml_llama3_1/tokenizer.json", bos, [{}]),
        ("llama3.1", f"{ct}/meta-llama-Llama-3.1-8B-Instruct.jinja", f"{t}/llama3-lenml_llama3_1",
         f"{t}/llama3-lenml_llama3_1/tokenizer.json", bos, dates),
        ("llama3.2", f"{ct}/meta-llama-Llama-3.2-3B-Instruct.jinja", f"{t}/llama3-lenml_llama3_1",
         f"{t}/llama3-lenml_llama3_1/tokenizer.json", bos, dates),
        ("qwen2.5", f"{ct}/Qwen-Qwen2.5-7B-Instruct.jinja", f"{t}/qwen3", f"{t}/qwen3/tokenizer.json", "", [{}]),
        ("qwen3", None, f"{t}/qwen3", f"{t}/qwen3/tokenizer.json", "",
         [{}, {"enable_thinking": True}, {"enable_thinking": False}]),
        ("smollm2", smol_path, None, None, "", [{}]),
    ]


def cmd_chat(args):
    from transformers import PreTrainedTokenizerFast
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    results = []
    fallback_tok = os.path.join(args.data_dir, "tokenizers/qwen3/tokenizer.json")
    for name, path, model_dir, tok_file, bos, variants in _cases(args.data_dir, out_dir):
        if path is None:
            with open(os.path.join(model_dir, "tokenizer_config.json")) as f:
                text = json.load(f)["chat_template"]
        else:
            with open(path) as f:
                text = f.read()
        tok = PreTrainedTokenizerFast(tokenizer_file=tok_file or fallback_tok, bos_token=bos or None)
        for conv_name, messages in CONVERSATIONS.items():
            for gen in (True, False):
                for extra in variants:
                    rendered = tok.apply_chat_template(messages, chat_template=text, tokenize=False,
                                                       add_generation_prompt=gen, **extra)
                    ids = None
                    if tok_file:
                        enc = tok.apply_chat_template(messages, chat_template=text, tokenize=True,
                                                      add_generation_prompt=gen, **extra)
                        ids = list(enc["input_ids"])
                    results.append({"template": name, "template_path": path, "model_dir": model_dir,
                                    "bos_token": bos, "tokenizer": tok_file, "conversation": conv_name,
                                    "messages": messages, "add_generation_prompt": gen,
                                    "extra": extra, "rendered": rendered, "input_ids": ids})
    with open(args.out, "w") as f:
        json.dump(results, f, ensure_ascii=False, indent=0)


def cmd_truncation(args):
    """LongBench pred.py middle truncation with transformers (AutoTokenizer on the model folder)."""
    import gzip
    from transformers import AutoTokenizer
    t = os.path.join(args.data_dir, "tokenizers")
    prompts = []
    for name in ("multi_news", "multifieldqa_zh"):
        with gzip.open(os.path.join(args.data_dir, "longbench/data", name + ".jsonl.gz"), "rt") as f:
            for i, line in enumerate(f):
                if i >= 3:
                    break
                prompts.append(json.loads(line)["context"])
    prompts.append("<|im_start|>short prompt with a special token<|eot_id|>")
    results = []
    for folder in ("llama3", "llama3-lenml_llama3_1", "qwen3"):
        tok = AutoTokenizer.from_pretrained(os.path.join(t, folder))
        for prompt in prompts:
            for max_length in (15, 500, 1001, 3500):
                ids = tok(prompt, truncation=False).input_ids
                if len(ids) > max_length:
                    half = int(max_length / 2)
                    out = tok.decode(ids[:half], skip_special_tokens=True) + \
                        tok.decode(ids[-half:], skip_special_tokens=True)
                else:
                    out = prompt
                results.append({"model_dir": os.path.join(t, folder), "prompt": prompt,
                                 "max_length": max_length, "tokens": len(ids), "truncated": out})
    with open(args.out, "w") as f:
        json.dump(results, f, ensure_ascii=False)
