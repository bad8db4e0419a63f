#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes the seed corpora of tests/fuzz/seeds/<target>/ from ../shared/data and configs/: small
# valid inputs of every format (real records cut short, real tokenizers cut to a few hundred
# tokens) plus a few malformed ones. Run once by hand (python3 tests/fuzz/make_seeds.py); the seeds
# are committed. Crash inputs found later go to tests/fuzz/regressions/<target>/ instead.
import gzip, json, os, shutil, struct, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
data = os.environ.get("KVBENCH_DATA_DIR", os.path.join(root, "..", "shared", "data"))
seeds = os.path.join(root, "tests", "fuzz", "seeds")


def out(target, name, content):
    d = os.path.join(seeds, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode())


def lines(path, n):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [next(f) for _ in range(n)]


def shorten(record, limit=300):
    return {k: (v[:limit] if isinstance(v, str) else v) for k, v in record.items()}


# --- safetensors ----------------------------------------------------------------------------------
def safetensors(header, data_bytes):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data_bytes

out("safetensors", "two_tensors", safetensors(
    {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
     "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]}, "__metadata__": {"format": "pt"}},
    bytes(range(22))))
out("safetensors", "scalar_and_empty", safetensors(
    {"s": {"dtype": "F16", "shape": [], "data_offsets": [0, 2]},
     "e": {"dtype": "F8_E4M3", "shape": [0, 4], "data_offsets": [2, 2]}}, b"\x01\x02"))
out("safetensors", "overlap", safetensors(
    {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)))
out("safetensors", "huge_shape", safetensors(
    {"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}}, b""))
out("safetensors", "truncated", b"\x10\x00\x00\x00\x00\x00\x00\x00{")

# --- tokenizer.json: real tokenizers cut to their first tokens ------------------------------------
def small_tokenizer(path, keep=400):
    tok = json.load(open(path, encoding="utf-8"))
    model = tok["model"]
    vocab = {t: i for t, i in model["vocab"].items() if i < keep}
    merges = []
    for m in model.get("merges", []):
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    model["vocab"], model["merges"] = vocab, merges
    tok["added_tokens"] = tok.get("added_tokens", [])[:8]
    return json.dumps(tok, ensure_ascii=False)

for name, path in [("llama3_small.json", f"{data}/tokenizers/llama3/tokenizer.json"),
                   ("qwen3_small.json", f"{data}/tokenizers/qwen3/tokenizer.json")]:
    out("tokenizer_json", name, small_tokenizer(path))
smol = os.path.expanduser(os.environ.get("KVBENCH_CACHE", "~/.cache/kvbench")) + "/models/smollm2-135m-instruct/tokenizer.json"
if os.path.exists(smol):
    out("tokenizer_json", "smollm2_small.json", small_tokenizer(smol))
out("tokenizer_json", "not_bpe.json", '{"model": {"type": "WordPiece", "vocab": {}}}')

# --- chat template inputs: arbitrary bytes drive FuzzedDataProvider -------------------------------
out("chat_template", "simple", b"\x01\x02\x03user message\x00assistant answer\x00\x01\x01\x02")
out("chat_template", "qwen3_think", b"\x00\x01\x01\x02<think>\nplan\n</think>\n\nanswer\x02\x03hello")
# (the template files themselves are read from ../shared/data by the target, not copied here)

# --- configs: the shipped ones plus sweeps and overrides ------------------------------------------
for sub in ["demo.yaml", "smoke.yaml", "ci/canary.yaml", "sweeps/kv_methods_e2e.yaml"]:
    p = os.path.join(root, "configs", sub)
    if os.path.exists(p):
        out("config", sub.replace("/", "_"), open(p, "rb").read())
out("config", "test_method_sweep.yaml",
    "model: {path: /m}\nmethod: {name: test.method}\ntask: {name: test.counting, params: {count: 3}}\n"
    "sweep:\n  grid:\n    method.params.budget_tokens: [16, 32]\n  zip:\n    seed: [1, 2]\n"
    "    generation.max_new_tokens: [4, 8]\n#= task.limit=2\n#= output.per_step_accounting=true\n")
out("config", "json_config", '{"model": {"path": "/m"}, "method": {"name": "test.method"}, '
    '"task": {"name": "gsm8k", "limit": 1, "on_malformed": "skip"}}')
out("config", "self_include.yaml", "include: config.yaml\ntask: {name: gsm8k}\n")

# --- dataset records: real first records, shortened ------------------------------------------------
out("dataset_gsm8k", "records", "".join(lines(f"{data}/gsm8k/test.jsonl", 6)))
out("dataset_gsm8k", "malformed", '{"question": "1+1?", "answer": "#### 2"}\n{"question": 3}\nnot json\n')
lb = [json.loads(l) for l in lines(f"{data}/longbench/data/multi_news.jsonl.gz", 2)]
out("dataset_longbench", "records", "".join(json.dumps(shorten(r), ensure_ascii=False) + "\n" for r in lb))
lp = [json.loads(l) for l in lines(f"{data}/text2json/longproc_html_to_tsv/html_to_tsv_0.5k.jsonl.gz", 2)]
out("dataset_longproc", "records", "".join(json.dumps(shorten(r, 500), ensure_ascii=False) + "\n" for r in lp))
rp = [json.loads(l) for l in lines(f"{data}/niah/ruler/pregenerated_4096/niah_multikey_3.jsonl.gz", 2)]
out("dataset_ruler_pregenerated", "records", "".join(json.dumps(shorten(r), ensure_ascii=False) + "\n" for r in rp))
out("dataset_text2json", "records",
    json.dumps({"problem": "Extract the people as JSON.\nAlice is 30.", "answer": '[{"name": "Alice", "age": 30}]'}) + "\n")
out("dataset_needlebench", "records", "".join(lines(f"{data}/niah/needlebench/needles.jsonl", 30)))
print("seeds written to", seeds)
