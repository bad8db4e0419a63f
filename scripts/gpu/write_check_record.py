#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes OUT/gpu-check.md, the one markdown record of scripts/gpu/check.sh: the machine, the
commit, each stage's status and time (OUT/stages.tsv), the gpu-labelled tests (OUT/gpu-tests.xml,
ctest's JUnit), the kernel benchmarks (OUT/bench_kv_ops.json), the bf16 parity on the large
checkpoints (OUT/test_model_gpu.json) and the decode benchmark (OUT/bench_model.json). Files a stage
did not produce are reported as missing, never invented. Exit 1 when OUT/stages.tsv is unreadable.

Usage: write_check_record.py --out OUT --commit SHA --dry-run 0|1 --total-seconds N
"""
import argparse
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def load_json(path):
    text = read(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        return {"error": f"{os.path.basename(path)}: invalid JSON at line {e.lineno}: {e.msg}"}


def load_benchmark_json(path):
    """A Google Benchmark JSON file; one cut short (the process stopped at the time budget) keeps the
    benchmarks it completed: the library writes each benchmark's object whole as it finishes, so the
    text up to the last closed entry of "benchmarks" plus the closing brackets is the valid part."""
    data = load_json(path)
    if data is None or "error" not in data:
        return data
    text = read(path)
    cut = text.rfind("\n    }")
    if '"benchmarks": [' not in text or cut < text.find('"benchmarks": ['):
        return data
    try:
        salvaged = json.loads(text[:cut + len("\n    }")] + "\n  ]\n}")
    except json.JSONDecodeError:
        return data
    salvaged["truncated"] = data["error"]
    return salvaged


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def stages_section(out):
    text = read(os.path.join(out, "stages.tsv"))
    if text is None:
        sys.exit(f"write_check_record: {out}/stages.tsv: cannot read")
    rows = [line.split("\t") for line in text.splitlines()[1:] if line.strip()]
    return table(["stage", "status", "seconds", "what"], rows)


def tests_section(out):
    text = read(os.path.join(out, "gpu-tests.xml"))
    if text is None:
        return "gpu-tests.xml missing (the tests stage did not run)."
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        return f"gpu-tests.xml: not readable JUnit ({e})."
    rows = []
    for case in root.iter("testcase"):
        status = case.get("status") or "run"
        if case.find("failure") is not None or case.find("error") is not None:
            status = "failed"
        elif case.find("skipped") is not None:
            status = "skipped"
        rows.append([case.get("name"), status, case.get("time", "")])
    return table(["ctest test (label gpu)", "status", "seconds"], rows) if rows else "no gpu-labelled tests ran."


def gtest_section(out):
    data = load_json(os.path.join(out, "test_model_gpu.json"))
    if data is None:
        return "test_model_gpu.json missing (the models stage did not reach the parity test)."
    if "error" in data:
        return data["error"]
    rows = []
    for suite in data.get("testsuites", []):
        for case in suite.get("testsuite", []):
            status = "failed" if case.get("failures") else case.get("result", case.get("status", ""))
            rows.append([f"{suite.get('name')}.{case.get('name')}", status, case.get("time", "")])
    return table(["test", "result", "time"], rows)


def bench_section(out, name, columns):
    """Rows of every Google Benchmark JSON file named `name` (a glob: bench_model_*.json)."""
    files = sorted(glob.glob(os.path.join(out, name)), key=lambda f: (len(f), f))
    if not files:
        return f"{name} missing (its stage did not run or failed)."
    data = {"benchmarks": [], "context": {}}
    problems = []  # files unreadable or cut short: said under the table, the other files' rows kept
    for f in files:
        part = load_benchmark_json(f)
        if part is None or "error" in part:
            problems.append(part["error"] if part else f"{os.path.basename(f)}: unreadable")
            continue
        if "truncated" in part:
            problems.append(f"{part['truncated']} (cut short: the benchmarks completed before the cut are shown)")
        data["benchmarks"] += part.get("benchmarks", [])
        data["context"] = part.get("context", {})
    rows = []
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") not in ("median",):
            continue
        if b.get("error_occurred"):  # a benchmark that failed: its message in the time column
            rows.append([b.get("name"), f"error: {b.get('error_message', '?')}"] + [""] * len(columns))
            continue
        row = [b.get("name"), f"{b.get('real_time', float('nan')):.4g} {b.get('time_unit', '')}"]
        for key, fmt in columns:
            value = b.get(key)
            row.append("" if value is None else fmt(value))
        rows.append(row)
    header = ["benchmark", "time"] + [key for key, _ in columns]
    ctx = data.get("context", {})
    note = f"host: {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs, built {ctx.get('library_build_type', '?')}"
    for p in problems:
        note += f"\n\n{p}"
    return (table(header, rows) if rows else "no benchmark rows.") + "\n\n" + note


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--commit", required=True)
    ap.add_argument("--dry-run", type=int, choices=[0, 1], required=True)
    ap.add_argument("--total-seconds", type=int, required=True)
    args = ap.parse_args()
    out = args.out
    def gib(v):
        return f"{v / 2**30:.3f} GiB" if v >= 2**30 else f"{v / 2**20:.3f} MiB"
    title = "kvbench GPU check" + (" — DRY RUN (CPU rehearsal)" if args.dry_run else "")
    parts = [
        f"# {title}",
        "",
        f"- commit: `{args.commit}`",
        f"- command: `bash scripts/gpu/check.sh{' --dry-run' if args.dry_run else ''}` "
        f"(total {args.total_seconds} s)",
    ]
    if args.dry_run:
        parts.append("- a dry run: no GPU; the figures below are CPU figures of the tiny Llama "
                     "checkpoint and say nothing about GPU speed")
    parts += ["", "## Machine", "", "```", (read(os.path.join(out, "machine.txt")) or "machine.txt missing").strip(),
              "```", "", "## Stages", "", stages_section(out), "", "## GPU-labelled tests", "", tests_section(out),
              "", "## bf16 greedy parity on the large checkpoints (test_model_gpu)", "", gtest_section(out),
              "", "## Kernel benchmarks (bench_kv_ops)", "",
              bench_section(out, "bench_kv_ops.json", [("GBps", lambda v: f"{v:.1f}"),
                                                        ("roofline", lambda v: f"{v:.2f}")]),
              "", "## Decode (bench_model, BM_Generate/<method>/<context>)", "",
              "TPOT is the mean of 32 decode steps after the prompt; roofline_ms is the full cache's "
              "methods.md 7.3 bound (weights + whole KV at the nominal HBM bandwidth), floor_ms the same "
              "bytes at the read bandwidth measured on this device (a 1 GiB sum).", "",
              bench_section(out, "bench_model_*.json", [
                  ("ttft_ms", lambda v: f"{v:.1f}"), ("tpot_ms", lambda v: f"{v:.2f}"),
                  ("roofline_ms", lambda v: f"{v:.2f}"), ("fraction_of_roofline", lambda v: f"{v:.2f}"),
                  ("floor_ms", lambda v: f"{v:.2f}"), ("fraction_of_floor", lambda v: f"{v:.2f}"),
                  ("kv_device_bytes", gib), ("kv_host_bytes", gib), ("host_to_device_bytes", gib),
                  ("peak_device_bytes", gib), ("peak_cuda_allocated_bytes", gib)]),
              ""]
    with open(os.path.join(out, "gpu-check.md.tmp"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    os.replace(os.path.join(out, "gpu-check.md.tmp"), os.path.join(out, "gpu-check.md"))


if __name__ == "__main__":
    main()
