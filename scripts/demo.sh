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
exec "$build/kvbench" run configs/demo.yaml "$@"
