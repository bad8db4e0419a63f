# SPDX-License-Identifier: Apache-2.0
"""Recomputes `kvbench compare`'s paired bootstrap intervals with numpy from the two runs' samples
and the compare --json output, using the documented seed logic (reports/bootstrap.h): numpy's
legacy RandomState(seed) yields the same raw 32-bit MT19937 stream as std::mt19937(seed); a draw u
is kept when u < 2^32 - (2^32 mod n) and maps to u mod n; resample b takes the next n kept draws;
the interval is numpy.percentile(means, [100 alpha/2, 100 (1 - alpha/2)]) (linear).
Usage: check_bootstrap.py COMPARE_JSON BASE_SAMPLES NEW_SAMPLES"""
import json
import sys

import numpy as np


def rows(path):
    with open(path) as f:
        return {r["id"]: r for r in map(json.loads, filter(str.strip, f))}


def main() -> int:
    report_path, base_path, new_path = sys.argv[1:4]
    with open(report_path) as f:
        report = json.load(f)
    base, new = rows(base_path), rows(new_path)
    alpha, resamples, seed = report["alpha"], report["resamples"], report["seed"]
    checked = 0
    for cell in report["cells"]:
        for name, acc in cell.get("accuracy", {}).items():
            # Pairs in id order (kvbench walks BASE's rows by id), same prompt, no error on either side.
            ids = sorted(i for i in base if i in new and base[i].get("prompt_sha256") == new[i].get("prompt_sha256")
                         and base[i].get("error") is None and new[i].get("error") is None)
            d = np.array([new[i]["scores"][name] - base[i]["scores"][name] for i in ids], dtype=np.float64)
            n = len(d)
            assert n == acc["n"], (n, acc["n"])
            limit = 2**32 - (2**32 % n)
            rs = np.random.RandomState(seed)
            need = resamples * n
            kept = np.empty(0, dtype=np.uint64)
            while kept.size < need:
                raw = rs.randint(0, 2**32, size=need + need // 8 + 16, dtype=np.uint32)
                kept = np.concatenate([kept, raw[raw < limit].astype(np.uint64)])
            idx = (kept[:need] % n).reshape(resamples, n)
            means = d[idx].sum(axis=1) / n
            low, high = np.percentile(means, [100 * alpha / 2, 100 * (1 - alpha / 2)])
            # kvbench sums each resample left to right, numpy pairwise: the sums of n <= 10^3 terms of
            # magnitude <= 100 agree to n * 100 * 2^-52 ~ 2e-11; 1e-9 leaves room and still catches any
            # different draw (which moves a percentile by a whole 1/n step of the score scale).
            for got, want, what in ((acc["ci_low"], low, "low"), (acc["ci_high"], high, "high"),
                                    (acc["mean_difference"], d.mean(), "mean")):
                assert abs(got - want) <= 1e-9, f"{cell['cell']} {name} {what}: kvbench {got} numpy {want}"
            checked += 1
            print(f"{cell['cell']} {name}: mean {d.mean():.6f} CI [{low:.6f}, {high:.6f}] matches (n={n})")
    assert checked > 0, "no accuracy interval in the compare output"
    return 0


if __name__ == "__main__":
    sys.exit(main())
