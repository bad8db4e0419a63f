# SPDX-License-Identifier: Apache-2.0
"""Reference outputs of Hugging Face transformers on the embedded model folder (the converted
SmolLM2-135M-Instruct), for tests/model/test_embedded_model.cpp.

usage: embedded_model_reference.py MODEL_DIR OUT_JSON

For each demo conversation: the chat-template rendering (apply_chat_template, add_generation_prompt),
its token ids, the fp32 logits of the last prompt position, and a greedy continuation (stopping at
EOS) with its decoded text. Also token ids of raw texts (including a byte the vocabulary lacks)."""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

model_dir, out_path = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
torch.set_num_threads(1)
tok = AutoTokenizer.from_pretrained(model_dir)
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
model.eval()

essay = ("The most important thing to understand about startups is that they are designed to grow "
         "fast. Everything else follows from that. ") * 12
conversations = [
    [{"role": "user", "content": "What is the capital of France? Answer in one word."}],
    [{"role": "system", "content": "You answer with a number only."},
     {"role": "user", "content": "Natalia sold clips to 48 of her friends in April, and then she sold half "
                                 "as many clips in May. How many clips did Natalia sell altogether?"}],
    [{"role": "user", "content": essay + "\nThe secret code is 4831. " + essay +
                                 "\nWhat is the secret code mentioned in the text?"}],
    [{"role": "user", "content": "Extract the people as JSON with keys name and age.\n\nText: Alice is 31 "
                                 "years old. Bob is 47 years old."},
     {"role": "assistant", "content": "[{\"name\": \"Alice\", \"age\": 31}, {\"name\": \"Bob\", \"age\": 47}]"},
     {"role": "user", "content": "Now do the same for: Carmen is 22 years old and Dmitri is 65."}],
]
raw_texts = ["Hello world! \u00e9\u00e8 12345 \t\n  x", "control \x04 byte and \x01 others", "<|im_start|>user",
             "caf\u00e9 \U0001F600 \u4e2d\u6587 tokens"]

out = {"cases": [], "raw": []}
with torch.no_grad():
    for messages in conversations:
        rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tok(rendered, add_special_tokens=False)["input_ids"]
        logits = model(torch.tensor([ids])).logits[0, -1].float()
        generated = model.generate(torch.tensor([ids]), max_new_tokens=24, do_sample=False,
                                   pad_token_id=tok.eos_token_id)[0, len(ids):].tolist()
        out["cases"].append({"messages": messages, "rendered": rendered, "ids": ids,
                             "last_logits": logits.tolist(), "greedy": generated,
                             "text": tok.decode(generated, skip_special_tokens=True)})
for text in raw_texts:
    out["raw"].append({"text": text, "ids": tok(text)["input_ids"],
                       "ids_no_special": tok(text, add_special_tokens=False)["input_ids"]})
out["eos_token_id"] = tok.eos_token_id
with open(out_path, "w", encoding="utf-8") as f:
    json.dump(out, f)
