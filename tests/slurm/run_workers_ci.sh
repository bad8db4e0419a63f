#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `kvbench run --workers 3` on one machine (ctest test_workers): three child processes, one shard
# each, give the same run store as one process (tests/slurm/compare_runs.py: same cells, every
# sample once, same predictions, scores and metrics). CUDA_VISIBLE_DEVICES=5,7 stands in for two
# visible GPUs (the sweep runs on the CPU): the children must get 5, 7 and 5, as their shard status
# files record. First, without running a model: `kvbench slurm --dry-run` writes the script (one
# shard per task, the sweep id to expect) and the sweep manifest, `kvbench status` then lists every
# cell as missing (exit 1), and `kvbench run --expect-sweep` with another id refuses (exit 2).
# Environment as ctest sets it: KVBENCH_BINARY, KVBENCH_SOURCE_DIR, KVBENCH_DATA_DIR,
# KVBENCH_PYTHON.
set -uo pipefail
src="${KVBENCH_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
kvbench="${KVBENCH_BINARY:-$src/build/kvbench}"
py="${KVBENCH_PYTHON:-python3}"
data="${KVBENCH_DATA_DIR:-$src/../shared/data}"
fail() { printf '[workers-ci] FAIL: %s\n' "$*" >&2; exit 1; }
tmp="$(mktemp -d /tmp/kvbench-workers.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
export KVBENCH_SLURM_MODEL="$tmp/tiny_model"
"$py" "$src/tests/support/make_tiny_chat_model.py" "$data/tokenizers/qwen3" "$KVBENCH_SLURM_MODEL" >/dev/null 2>&1 \
  || fail "cannot make the tiny model"
sweep="$src/tests/slurm/ci_sweep.yaml"

script="$("$kvbench" slurm "$sweep" --out "$tmp/planned" --array-size 3 --max-parallel 2 --dry-run 2>/dev/null)" \
  || fail "kvbench slurm --dry-run"
[ "$script" = "$tmp/planned/slurm/kvbench-ci_sweep.sbatch" ] || fail "script path: $script"
grep -q '^#SBATCH --array=0-2%2$' "$script" || fail "no array line in $script"
grep -q -- '--shard "${SLURM_ARRAY_TASK_ID}/${shards}"' "$script" || fail "no --shard in $script"
sweep_id="$(sed -n "s/.*'--expect-sweep' '\([0-9a-f]*\)'.*/\1/p" "$script")"
[ -n "$sweep_id" ] || fail "no --expect-sweep in $script"
"$kvbench" status "$tmp/planned" >"$tmp/status.txt"; code=$?
[ "$code" = 1 ] && grep -q "^6 cells: 6 missing$" "$tmp/status.txt" || { cat "$tmp/status.txt"; fail "status of a planned sweep (exit $code)"; }
"$kvbench" run "$sweep" --out "$tmp/planned" --expect-sweep 0123456789abcdef >"$tmp/refused.txt" 2>&1; code=$?
[ "$code" = 2 ] && grep -q "expands to sweep $sweep_id, not 0123456789abcdef" "$tmp/refused.txt" \
  || { cat "$tmp/refused.txt"; fail "--expect-sweep with another id (exit $code)"; }
"$kvbench" run "$sweep" --limit 3 --out "$tmp/single" --no-progress >"$tmp/single.log" 2>&1 || { cat "$tmp/single.log"; fail "single run"; }
CUDA_VISIBLE_DEVICES=5,7 "$kvbench" run "$sweep" --limit 3 --out "$tmp/workers" --workers 3 >"$tmp/workers.log" 2>&1 \
  || { cat "$tmp/workers.log"; fail "--workers 3 exited non-zero"; }
for w in 0 1 2; do
  grep -q "^\[workers\] worker $w (shard $w/3): exit code 0$" "$tmp/workers.log" || { cat "$tmp/workers.log"; fail "worker $w"; }
done
"$py" "$src/tests/slurm/compare_runs.py" "$tmp/single" "$tmp/workers" || fail "--workers 3 differs from one process"
"$py" - "$tmp/workers" <<'PY' || fail "CUDA_VISIBLE_DEVICES was not one GPU per worker"
import glob, json, sys
seen = {}
for path in glob.glob(sys.argv[1] + "/**/run.shard-*.json", recursive=True):
    status = json.load(open(path))
    seen[status["shard"]] = status["cuda_visible_devices"]
expected = {"0/3": "5", "1/3": "7", "2/3": "5"}
for shard, gpu in seen.items():
    assert gpu == expected[shard], (shard, gpu)
assert seen, "no shard status files"
print("workers saw", dict(sorted(seen.items())))
PY
echo "[workers-ci] PASS"
