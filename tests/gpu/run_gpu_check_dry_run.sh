#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CI rehearsal of scripts/gpu/check.sh (issue 15): its --dry-run on this CPU machine must pass every
# stage (the bundle is complete and under 64 MiB, CMake resolves every dependency inside it, the GPU
# targets exist, the CPU stand-ins of the tests/kernels/decode stages run) and write a record that
# holds each stage and a decode row for each method at each context.
# Env (from ctest): KVBENCH_PYTHON, KVBENCH_CHECK_CPU_BUILD.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
fail() { echo "test_gpu_check_dry_run: $*" >&2; [ -f "$out/gpu-check.md" ] && cat "$out/gpu-check.md" >&2; exit 1; }
bash "$repo/scripts/gpu/check.sh" --dry-run "$out" || fail "check.sh --dry-run failed"
record="$out/gpu-check.md"
[ -s "$record" ] || fail "no record written"
for stage in bundle build tests kernels models decode; do
  grep -q "^| $stage | ok |" "$record" || fail "stage $stage is not ok in the record"
done
for method in full shadowkv yakv_gpu quest; do
  for context in 256 512; do
    grep -q "^| BM_Generate/$method/$context/" "$record" || fail "no decode row for $method at $context"
  done
done
grep -q "DRY RUN" "$record" || fail "the record does not say it is a dry run"
echo "test_gpu_check_dry_run: ok ($(grep -c '^| BM_Generate/' "$record") decode rows)"
