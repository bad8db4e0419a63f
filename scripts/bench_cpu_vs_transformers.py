#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kvbench vs Hugging Face transformers on this CPU, side by side (issue 15): prefill ms/token and
decode ms/token of one checkpoint (default: the embedded SmolLM2-135M-Instruct, fp32) at several
prompt lengths, each side run REPS times, alternating, in the same conditions (same thread count,
same token ids, greedy, 32 decode steps after the prompt, full KV cache). kvbench is timed by its
own Google Benchmark program (build/tests/bench_model, BM_Generate/full/<n>: generate() on the
CausalLM runtime, the harness's run path) and transformers by model.forward with its DynamicCache.
Also reports the machine's read bandwidth (bench_model's best 1 GiB sum) and each side's decode step
as a fraction of the bandwidth floor (weights + whole KV read once per step).

Writes a markdown record (min and median of each figure) to --out.
Usage: bench_cpu_vs_transformers.py [--model DIR] [--contexts 1024,2048,4096] [--reps 5]
                                    [--threads 2] [--build build] [--out FILE]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import transformers

DECODE_STEPS = 32  # bench_model generates 33 tokens: the prefill's token + 32 decode steps


def prompt_ids(n, vocab):
    # The ids bench_model uses (tests/bench/bench_model.cpp register_large), so both sides see one prompt.
    return [4 + (i * 7919) % (vocab - 4) for i in range(n)]


def time_transformers(model, n, vocab):
    ids = torch.tensor([prompt_ids(n, vocab)])
    with torch.inference_mode():
        start = time.perf_counter()
        out = model(ids, use_cache=True)
        token = out.logits[:, -1].argmax(-1, keepdim=True)
        prefill_ms = (time.perf_counter() - start) * 1e3
        cache = out.past_key_values
        steps = []
        for _ in range(DECODE_STEPS):
            start = time.perf_counter()
            out = model(token, past_key_values=cache, use_cache=True)
            token = out.logits[:, -1].argmax(-1, keepdim=True)
            cache = out.past_key_values
            steps.append((time.perf_counter() - start) * 1e3)
    return prefill_ms, statistics.fmean(steps)


def time_kvbench(bench, model_dir, n, threads):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        env = dict(os.environ, KVBENCH_BENCH_MODEL_DIR=model_dir, KVBENCH_BENCH_MODEL_DTYPE="fp32",
                   KVBENCH_BENCH_CONTEXTS=str(n), KVBENCH_BENCH_METHODS="full",
                   OMP_NUM_THREADS=str(threads))
        subprocess.run([bench, "--benchmark_filter=BM_Generate", f"--benchmark_out={f.name}",
                        "--benchmark_out_format=json"], env=env, check=True, stdout=subprocess.DEVNULL)
        row = json.load(open(f.name))["benchmarks"][0]
    return row["ttft_ms"], row["tpot_ms"], row["read_GBps_measured"] * 1e9, row["floor_ms"]


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/kvbench/models/smollm2-135m-instruct"))
    ap.add_argument("--contexts", default="1024,2048,4096")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bench = os.path.join(args.build, "tests", "bench_model")
    if not os.access(bench, os.X_OK):
        sys.exit(f"bench_cpu_vs_transformers: {bench}: not built (cmake --build build --target bench_model)")
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    rows = []
    bandwidth = []
    for n in [int(c) for c in args.contexts.split(",")]:
        kv, hf = [], []
        floor_ms = None
        for _ in range(args.reps):  # alternate, so drifting machine load hits both sides alike
            ttft, tpot, bw, floor_ms = time_kvbench(bench, args.model, n, args.threads)
            kv.append((ttft / n, tpot))
            bandwidth.append(bw)
            prefill, step = time_transformers(model, n, vocab)
            hf.append((prefill / n, step))
        rows.append((n, kv, hf, floor_ms))
        print(f"n={n}: kvbench decode {min(t for _, t in kv):.1f} ms, transformers {min(t for _, t in hf):.1f} ms",
              file=sys.stderr)

    def fmt(values):
        return f"{min(values):.2f} / {statistics.median(values):.2f}"

    lines = [
        "# kvbench vs transformers on CPU (prefill and decode, full cache)",
        "",
        f"- command: `python scripts/bench_cpu_vs_transformers.py --contexts {args.contexts} --reps {args.reps} "
        f"--threads {args.threads}` (model {os.path.basename(os.path.normpath(args.model))}, fp32)",
        f"- machine: {cpu_name()}, {os.cpu_count()} logical CPUs, {args.threads} threads each side; "
        f"torch {torch.__version__}, transformers {transformers.__version__}",
        f"- read bandwidth measured by bench_model (best 1 GiB sum): {max(bandwidth) / 1e9:.1f} GB/s; the "
        "floor of a decode step is the weights + whole KV cache read once at that bandwidth",
        f"- {args.reps} repetitions per side and length, alternating; figures are min / median; decode is "
        f"the mean of {DECODE_STEPS} steps after the prompt",
        "",
        "| prompt tokens | kvbench prefill ms/token | transformers prefill ms/token | kvbench decode ms/token "
        "| transformers decode ms/token | floor ms | kvbench fraction of floor | transformers fraction of floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, kv, hf, floor_ms in rows:
        kv_decode = [t for _, t in kv]
        hf_decode = [t for _, t in hf]
        lines.append(f"| {n} | {fmt([p for p, _ in kv])} | {fmt([p for p, _ in hf])} | {fmt(kv_decode)} | "
                     f"{fmt(hf_decode)} | {floor_ms:.2f} | {floor_ms / min(kv_decode):.2f} | "
                     f"{floor_ms / min(hf_decode):.2f} |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
