#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up everything (scripts/setup.sh, which also converts the embedded SmolLM2-135M-Instruct
# model), builds kvbench, and runs configs/demo.yaml: the embedded model on a small NIAH grid,
# Text2JSON-synthetic and a GSM8K slice, once per KV method, then prints the results table.
# Extra arguments go to `kvbench run` (e.g. --out /tmp/demo-runs).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVBENCH_BUILD_DIR:-$repo/build}"
bash "$repo/scripts/setup.sh"
cmake --build "$build" -j "$(nproc)" --target kvbench
cd "$repo"
# Each code version writes its own folder (runs/demo/<git sha>[-dirty]): a run directory refuses to mix
# samples of two kvbench versions, so after an update the demo starts fresh instead of failing, and
# re-running the same version resumes (finishes at once). An explicit --out wins.
case " $* " in
  *" --out "* | *" --out="*) exec "$build/kvbench" run configs/demo.yaml "$@" ;;
esac
version="$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unversioned)"
if [ "$version" != unversioned ] && ! git -C "$repo" diff --quiet HEAD 2>/dev/null; then version="$version-dirty"; fi
exec "$build/kvbench" run configs/demo.yaml --out "runs/demo/$version" "$@"
