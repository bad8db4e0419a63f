#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up everything (scripts/setup.sh), builds, and runs the whole test suite with ctest.
# Extra arguments go to ctest (e.g. `bash scripts/test.sh -L cpu`, `-R test_config`).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KVBENCH_BUILD_DIR:-$repo/build}"
start=$(date +%s)
bash "$repo/scripts/setup.sh"
setup_done=$(date +%s)
cmake --build "$build" -j "$(nproc)"
build_done=$(date +%s)
status=0
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@" || status=$?
end=$(date +%s)
printf '[test] setup %ds, build %ds, tests %ds\n' $((setup_done - start)) $((build_done - setup_done)) $((end - build_done)) >&2
exit $status
