#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Side-by-side encode throughput: kvbench (build/tests/bench_tokenizer, Google Benchmark) vs the
Hugging Face `tokenizers` library, both single-threaded (RAYON_NUM_THREADS=1), on the same corpus
(the tokenizer parity corpus, built by scripts/reference/hf_tokenizer_reference.py corpus).

Usage: scripts/bench_tokenizer_compare.py [--build build] [--data-dir ../shared/data] [--out f.json]
Both sides encode each document separately with add_special_tokens=False and report MB/s of UTF-8
input; the HF side takes the best of 3 passes over encode() and encode_batch_fast() (the faster API
counts), the C++ side Google Benchmark's mean over 3 repetitions.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NAMES = {"llama3": "llama3", "llama3_1": "llama3-lenml_llama3_1", "qwen3": "qwen3"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--data-dir", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--out", help="write the combined results as JSON")
    args = ap.parse_args()
    env = dict(os.environ, RAYON_NUM_THREADS="1", KVBENCH_DATA_DIR=args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        ref = os.path.join(HERE, "reference", "hf_tokenizer_reference.py")
        subprocess.run([sys.executable, ref, "corpus", "--data-dir", args.data_dir, "--out-dir", tmp],
                       check=True, env=env)
        corpus = os.path.join(tmp, "corpus.bin")
        tok_args = []
        for name, folder in NAMES.items():
            tok_args += ["--tokenizer", f"{name}={args.data_dir}/tokenizers/{folder}/tokenizer.json"]
        hf = json.loads(subprocess.run([sys.executable, ref, "bench", "--corpus", corpus] + tok_args,
                                       check=True, env=env, capture_output=True, text=True).stdout)
        bench = os.path.join(args.build, "tests", "bench_tokenizer")
        kv = json.loads(subprocess.run([bench, "--benchmark_filter=BM_EncodeCorpus",
                                        "--benchmark_repetitions=3", "--benchmark_format=json"],
                                       check=True, env=dict(env, KVBENCH_TOKENIZER_CORPUS=corpus),
                                       capture_output=True, text=True).stdout)
    kv_rate, kv_cpu = {}, {}
    for b in kv["benchmarks"]:
        if b.get("aggregate_name") == "mean":
            kv_rate[b["label"]] = b["bytes_per_second"] / 1e6
            kv_cpu[b["label"]] = b["bytes_per_second"] * b["real_time"] / b["cpu_time"] / 1e6
    rows = []
    print(f"corpus: {hf['corpus_bytes'] / 1e6:.2f} MB, single-threaded, encode(add_special_tokens=False) per document")
    print(f"{'tokenizer':10s} {'kvbench MB/s':>13s} {'HF MB/s':>9s} {'ratio':>7s} | CPU-time based:"
          f" {'kvbench':>8s} {'HF':>7s} {'ratio':>6s}")
    for name in NAMES:
        k, h = kv_rate[name], hf["tokenizers"][name]["mb_per_s"]
        kc, hc = kv_cpu[name], hf["tokenizers"][name]["cpu_mb_per_s"]
        rows.append({"tokenizer": name, "kvbench_mb_per_s": k, "hf_mb_per_s": h, "ratio": k / h,
                     "kvbench_cpu_mb_per_s": kc, "hf_cpu_mb_per_s": hc, "cpu_ratio": kc / hc,
                     "hf_mb_per_s_by_api": hf["tokenizers"][name]["mb_per_s_by_api"]})
        apis = ", ".join(f"{a} {v:.2f}" for a, v in hf["tokenizers"][name]["mb_per_s_by_api"].items())
        print(f"{name:10s} {k:13.2f} {h:9.2f} {k / h:7.2f} | {'':15s} {kc:8.2f} {hc:7.2f} {kc / hc:6.2f}"
              f"   (HF wall MB/s by API: {apis})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"corpus_bytes": hf["corpus_bytes"], "results": rows,
                       "context": kv.get("context", {})}, f, indent=1)


if __name__ == "__main__":
    main()
