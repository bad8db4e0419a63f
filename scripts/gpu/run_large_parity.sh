#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GPU machine only (not run in CI): builds the Llama-3.1-8B-shaped and Qwen3-30B-A3B-shaped (4 layers)
# random bf16 checkpoints, checks kvbench's bf16 greedy tokens against transformers for 32 steps
# (tests/test_model_gpu), then times TTFT / TPOT at 4K, 32K and 128K next to the methods.md 7.3
# roofline (bench_model). Usage: scripts/gpu/run_large_parity.sh [OUT_DIR] [BUILD_DIR]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-/tmp/kvbench-large}"
build="${2:-$repo/build}"
py="${KVBENCH_PYTHON:-python3}"
"$py" "$repo/scripts/gpu/make_large_checkpoints.py" "$out"
KVBENCH_LARGE_MODELS="$out/llama31_8b:$out/qwen3_30b_a3b" KVBENCH_TEST_TMP="$build/test-tmp" \
  KVBENCH_PYTHON="$py" KVBENCH_SOURCE_DIR="$repo" "$build/tests/test_model_gpu"
for m in llama31_8b qwen3_30b_a3b; do
  KVBENCH_BENCH_MODEL_DIR="$out/$m" KVBENCH_BENCH_PREFILL_CHUNK="${KVBENCH_BENCH_PREFILL_CHUNK:-0}" \
    "$build/tests/bench_model" --benchmark_filter=Generate
done
