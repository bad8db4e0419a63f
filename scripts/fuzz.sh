#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets of tests/fuzz/ (clang, ASan + UBSan, no LibTorch).
#   fuzz.sh build [DIR]                 configure + build the targets in DIR (default <build>/fuzz)
#   fuzz.sh run TARGET SECONDS [DIR]    replay tests/fuzz/regressions/<name>/ (every past crash), then
#                                       fuzz TARGET for SECONDS from tests/fuzz/seeds/<name>/ in a fresh
#                                       work corpus; exit 1 on any crash, leak, timeout or OOM (the
#                                       input is kept as DIR/artifacts/TARGET-*)
#   fuzz.sh list                        the target names
#   fuzz.sh long RUNS SECONDS [DIR]     every target for RUNS executions or SECONDS, whichever comes
#                                       first; prints one summary line per target (the local record
#                                       in reports/fuzz/)
# <name> is TARGET without its fuzz_ prefix. The targets are what tests/fuzz/CMakeLists.txt lists.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
default_dir="${KVBENCH_BUILD_DIR:-$repo/build}/fuzz"
log() { printf '[fuzz] %s\n' "$*" >&2; }

targets() { sed -n 's/^kvbench_fuzz_target(\(fuzz_[a-z_0-9]*\) .*/\1/p' "$repo/tests/fuzz/CMakeLists.txt" | grep -v '\${';
            sed -n 's/^foreach(loader \(.*\))$/\1/p' "$repo/tests/fuzz/CMakeLists.txt" | tr ' ' '\n' | sed 's/^/fuzz_dataset_/'; }

build() {
  local dir="${1:-$default_dir}"
  if [ ! -f "$dir/build.ninja" ]; then
    log "configuring $dir (clang, ASan + UBSan)"
    CC=clang CXX=clang++ cmake -S "$repo/tests/fuzz" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=None >/dev/null
  fi
  cmake --build "$dir" -j "$(nproc)"
}

# libFuzzer options shared by CI and long runs. -rss_limit_mb: ASan's shadow memory included.
fuzz_options=(-error_exitcode=1 -max_len=65536 -timeout=20 -rss_limit_mb=3072 -print_final_stats=1)

run() {
  local target="$1" seconds="$2" dir="${3:-$default_dir}"
  local name="${target#fuzz_}" bin="$dir/$target"
  [ -x "$bin" ] || { log "$bin is missing: run scripts/fuzz.sh build first"; exit 2; }
  local regressions="$repo/tests/fuzz/regressions/$name" seeds="$repo/tests/fuzz/seeds/$name"
  mkdir -p "$dir/artifacts"
  if compgen -G "$regressions/*" >/dev/null; then
    log "$target: replaying $(ls "$regressions" | wc -l) regression input(s)"
    "$bin" "${fuzz_options[@]}" "$regressions"/*
  fi
  local work; work="$(mktemp -d)"
  local out="$dir/$target.ci.log" status=0
  log "$target: fuzzing for ${seconds}s from $seeds"
  "$bin" "${fuzz_options[@]}" -max_total_time="$seconds" -artifact_prefix="$dir/artifacts/$target-" \
    "$work" "$seeds" >"$out" 2>&1 || status=$?
  rm -rf "$work"
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$out" >&2
    log "$target: FAILED (exit $status); the input is in $dir/artifacts/; full log $out"
  else
    grep -E '^(#[0-9]+ *(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb)' "$out" >&2 || true
  fi
  return "$status"
}

long() {
  local runs="$1" seconds="$2" dir="${3:-$default_dir}" target
  for target in $(targets); do
    local work; work="$(mktemp -d)"
    local start; start=$(date +%s)
    local status=0
    "$dir/$target" "${fuzz_options[@]}" -runs="$runs" -max_total_time="$seconds" \
      -artifact_prefix="$dir/artifacts/$target-" "$work" "$repo/tests/fuzz/seeds/${target#fuzz_}" \
      >"$dir/$target.long.log" 2>&1 || status=$?
    local execs; execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$target.long.log" | tail -1)
    local cov; cov=$(grep -E '^#[0-9]+' "$dir/$target.long.log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    printf '%s\texecs=%s\tseconds=%s\tcov=%s\texit=%s\tcorpus=%s\n' "$target" "${execs:-?}" \
      $(( $(date +%s) - start )) "${cov:-?}" "$status" "$(ls "$work" | wc -l)"
    rm -rf "$work"
  done
}

cmd="${1:-}"; shift || true
case "$cmd" in
  build) build "$@" ;;
  run) run "$@" ;;
  long) long "$@" ;;
  list) targets ;;
  *) sed -n '3,12p' "$0" >&2; exit 2 ;;
esac
