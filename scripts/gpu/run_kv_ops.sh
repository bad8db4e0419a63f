#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GPU machine only (not run in CI): builds and runs the CUDA kernel tests of the KV hot-path ops
# (tests/unit/test_kv_ops_cuda.cpp, kernels vs their LibTorch references) and their Google Benchmark
# (tests/bench/bench_kv_ops.cpp) at Llama-3.1-8B shapes, writing the benchmark JSON to OUT_DIR.
# Expects build-gpu/ from scripts/gpu/setup_on_device.sh (or any configured build dir with nvcc).
# Usage: scripts/gpu/run_kv_ops.sh [OUT_DIR] [BUILD_DIR]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-/tmp/kvbench-kv-ops}"
build="${2:-$repo/build-gpu}"
mkdir -p "$out"
if [ -d "$repo/.device/prefix" ]; then
  export LD_LIBRARY_PATH="$repo/.device/prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
cmake --build "$build" -j "$(nproc)" --target test_kv_ops_reference test_kv_ops_cuda bench_kv_ops
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv | tee "$out/gpu.txt"
"$build/tests/test_kv_ops_reference" --gtest_brief=1
"$build/tests/test_kv_ops_cuda" --gtest_output="json:$out/test_kv_ops_cuda.json"
"$build/tests/bench_kv_ops" --benchmark_filter="${KVBENCH_BENCH_FILTER:-_Cuda}" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_out="$out/bench_kv_ops.json" --benchmark_out_format=json
