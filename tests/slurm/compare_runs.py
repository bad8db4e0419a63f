#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that two run folders hold the same results: the same cells (run directories), in each the
same sample ids recorded exactly once across all sample parts (samples.jsonl and
samples.shard-<i>-of-<N>.jsonl), with identical predictions, scores, prompt hashes and token counts,
and identical metrics.json scores, buckets, sample counts and official aggregates. Timing differs run
to run and is not compared.

Usage: compare_runs.py SINGLE_PROCESS_RUNS SHARDED_RUNS
Exit 0 when equal; 1 with one line per difference otherwise.
"""
import glob
import json
import os
import sys

ROW_FIELDS = ("prediction", "scores", "prompt_sha256", "input_tokens", "output_tokens", "references", "error")
METRIC_FIELDS = ("scores", "buckets", "n_samples", "official")


def cells(root):
    found = {}
    for config in glob.glob(os.path.join(root, "**", "config.json"), recursive=True):
        found[os.path.relpath(os.path.dirname(config), root)] = os.path.dirname(config)
    return found


def rows(cell_dir, problems):
    by_id = {}
    parts = sorted(glob.glob(os.path.join(cell_dir, "samples*.jsonl")))
    for part in parts:
        with open(part, encoding="utf-8") as f:
            text = f.read()
        if text and not text.endswith("\n"):
            problems.append(f"{part}: ends with a torn line")
        for number, line in enumerate(text.splitlines(), 1):
            if not line:
                continue
            row = json.loads(line)
            if row["id"] in by_id:
                problems.append(f"{part}:{number}: sample {row['id']} also recorded in {by_id[row['id']][0]}")
            by_id[row["id"]] = (part, row)
    return {k: v[1] for k, v in by_id.items()}


def main():
    single, sharded = sys.argv[1], sys.argv[2]
    problems = []
    a, b = cells(single), cells(sharded)
    if set(a) != set(b):
        problems.append(f"cells differ: only single {sorted(set(a) - set(b))}, only sharded {sorted(set(b) - set(a))}")
    samples = 0
    for cell in sorted(set(a) & set(b)):
        ra, rb = rows(a[cell], problems), rows(b[cell], problems)
        if set(ra) != set(rb):
            problems.append(f"{cell}: sample ids differ: only single {sorted(set(ra) - set(rb))}, "
                            f"only sharded {sorted(set(rb) - set(ra))}")
        for sample_id in sorted(set(ra) & set(rb)):
            samples += 1
            for field in ROW_FIELDS:
                if ra[sample_id].get(field) != rb[sample_id].get(field):
                    problems.append(f"{cell}: sample {sample_id}: {field} differs: "
                                    f"{ra[sample_id].get(field)!r} vs {rb[sample_id].get(field)!r}")
        with open(os.path.join(a[cell], "metrics.json")) as f:
            ma = json.load(f)
        with open(os.path.join(b[cell], "metrics.json")) as f:
            mb = json.load(f)
        for field in METRIC_FIELDS:
            if ma.get(field) != mb.get(field):
                problems.append(f"{cell}: metrics.json {field} differs: {ma.get(field)} vs {mb.get(field)}")
        with open(os.path.join(b[cell], "run.json")) as f:
            status = json.load(f).get("status")
        if status != "complete":
            problems.append(f"{cell}: sharded run.json status {status}")
    for p in problems:
        print(p)
    print(f"compared {len(a)} cells, {samples} samples: {'equal' if not problems else f'{len(problems)} differences'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
