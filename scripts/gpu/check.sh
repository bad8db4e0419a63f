#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The one-call GPU check. On a bare GPU machine (PyTorch 2.11 + CUDA 13, no network, no Debian -dev
# packages), from a copy of this repo with .device/ carried (scripts/gpu/make_device_bundle.sh):
#   bundle  the carried bundle is complete (every package of device_packages.txt, commit.txt)
#   build   unpack + configure + build the GPU targets (scripts/gpu/setup_on_device.sh)
#   tests   every ctest test labelled gpu (kernels vs their LibTorch references, GPU placement)
#   kernels the kernel benchmarks (bench_kv_ops, CUDA kernels at Llama-3.1-8B shapes)
#   models  a random bf16 Llama-3.1-8B-shaped checkpoint (and a Qwen3-30B-A3B-shaped one with
#           KVBENCH_CHECK_MOE=1) + transformers' greedy tokens (scripts/gpu/make_large_checkpoints.py),
#           then test_model_gpu's parity on them
#   decode  bench_model: TTFT/TPOT of full, shadowkv, yakv_gpu and quest at 32K and 128K on the
#           8B-shaped checkpoint, next to the methods.md 7.3 HBM roofline
# and writes OUT/gpu-check.md (machine, commit, each stage's time and status, every figure) plus the
# raw JSON/logs. Stages past KVBENCH_CHECK_BUDGET_S seconds (default 450: the record must exist
# within 8 minutes) are recorded as skipped; a failed stage does not stop the later ones.
#
# --dry-run is the CPU rehearsal (CI runs it, tests/CMakeLists.txt: test_gpu_check_dry_run): it
# makes the bundle if missing, checks it is complete and that the carried tree stays under 64 MiB,
# unpacks it into a scratch prefix and configures against that prefix with /usr and /usr/local
# ignored (every find_package must resolve inside the bundle), checks the build would have every
# GPU target, then runs the later stages with the CPU build (KVBENCH_CHECK_CPU_BUILD, default build/)
# on the tiny Llama checkpoint at small contexts instead of the 8B one, and writes the same record
# (marked a dry run: its figures are CPU figures of a tiny model).
#
# Usage: scripts/gpu/check.sh [--dry-run] [OUT_DIR]    (OUT_DIR default: $OUT, else /tmp/kvbench-gpu-check)
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dry=0
[ "${1:-}" = "--dry-run" ] && { dry=1; shift; }
out="${1:-${OUT:-/tmp/kvbench-gpu-check}}"
mkdir -p "$out"
budget="${KVBENCH_CHECK_BUDGET_S:-450}"
start_all=$(date +%s)
stages="$out/stages.tsv"
printf 'stage\tstatus\tseconds\tdetail\n' >"$stages"
py="${KVBENCH_PYTHON:-python3}"
if [ "$dry" = 1 ] && [ -z "${KVBENCH_PYTHON:-}" ]; then
  # The CPU build's python (the venv of scripts/setup.sh, with torch) when none is given.
  py="$(sed -n 's/^KVBENCH_PYTHON:[A-Z]*=//p' "${KVBENCH_CHECK_CPU_BUILD:-$repo/build}/CMakeCache.txt" 2>/dev/null)"
  py="${py:-python3}"
fi

log() { echo "[gpu-check] $*" >&2; }

# stage NAME DETAIL CMD...: runs CMD (output to OUT/NAME.log) unless the time budget is spent, and
# appends NAME, ok|failed (exit N)|skipped (...), seconds, DETAIL to stages.tsv.
stage() {
  local name="$1" detail="$2"; shift 2
  local now; now=$(date +%s)
  # KVBENCH_CHECK_STAGES=build,decode,... runs only those stages (a short re-run on the device).
  if [ -n "${KVBENCH_CHECK_STAGES:-}" ] && [[ ",$KVBENCH_CHECK_STAGES," != *",$name,"* ]]; then
    printf '%s\tskipped (not in KVBENCH_CHECK_STAGES)\t0\t%s\n' "$name" "$detail" >>"$stages"
    return 0
  fi
  local left=$(( budget - (now - start_all) ))
  if [ "$left" -le 0 ]; then
    printf '%s\tskipped (time budget of %ss spent)\t0\t%s\n' "$name" "$budget" "$detail" >>"$stages"
    log "$name: skipped (time budget spent)"; return 0
  fi
  log "$name: $detail"
  local status=0
  # The command may be one of this script's functions: a child bash gets them and the variables
  # they read (timeout runs programs only).
  local context
  context="$(declare -p repo dry out py build scratch gpu_targets methods contexts decode_model models_dir large_models \
             2>/dev/null; declare -f)"
  timeout "$left" bash -c "$context"$'\n''"$@"' stage-command "$@" >"$out/$name.log" 2>&1 || status=$?
  local took=$(( $(date +%s) - now ))
  if [ "$status" -eq 0 ]; then
    printf '%s\tok\t%s\t%s\n' "$name" "$took" "$detail" >>"$stages"
  elif [ "$status" -eq 124 ]; then
    printf '%s\tfailed (stopped at the time budget)\t%s\t%s\n' "$name" "$took" "$detail" >>"$stages"
  else
    printf '%s\tfailed (exit %s)\t%s\t%s\n' "$name" "$status" "$took" "$detail" >>"$stages"
    tail -n 20 "$out/$name.log" >&2
  fi
  return 0
}

# --- bundle -----------------------------------------------------------------------------------------
check_bundle() {
  local missing=0 p
  [ -f "$repo/.device/commit.txt" ] || { echo "missing .device/commit.txt"; missing=1; }
  for p in $(sed 's/#.*//' "$repo/scripts/gpu/device_packages.txt"); do
    compgen -G "$repo/.device/debs/${p}_*.deb" >/dev/null || { echo "missing .device/debs/${p}_*.deb"; missing=1; }
  done
  if [ "$dry" = 1 ]; then
    # What the device tool sends: tracked + untracked-not-ignored files, plus the carried .device.
    local tree carried
    tree=$(cd "$repo" && git ls-files -z -co --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
    carried=$(du -sb "$repo/.device" | cut -f1)
    echo "working tree $tree bytes + .device $carried bytes (limit 67108864)"
    [ $(( tree + carried )) -le 67108864 ] || { echo "over the device tool's 64 MiB"; missing=1; }
  fi
  cat "$repo/.device/commit.txt" 2>/dev/null
  return "$missing"
}
if [ "$dry" = 1 ] && [ ! -d "$repo/.device/debs" ]; then
  stage bundle_make "scripts/gpu/make_device_bundle.sh (dry run: no bundle yet)" bash "$repo/scripts/gpu/make_device_bundle.sh"
fi
stage bundle "the carried bundle is complete" check_bundle
commit="$(cat "$repo/.device/commit.txt" 2>/dev/null || git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"

# --- build ------------------------------------------------------------------------------------------
# kvbench, the benchmarks, and every ctest test labelled gpu (test names are their targets):
# listed from tests/CMakeLists.txt so a new GPU test is built and run without editing this script.
mapfile -t gpu_tests < <(sed -n 's/^ *kvbench_add_test(\([A-Za-z0-9_]*\) .*LABELS[^)]*\bgpu\b.*/\1/p' "$repo/tests/CMakeLists.txt")
gpu_targets=(kvbench bench_kv_ops bench_model "${gpu_tests[@]}")
if [ "$dry" = 1 ]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  check_configure() {
    KVBENCH_PYTHON="$py" KVBENCH_DEVICE_CONFIGURE_ONLY=1 \
    KVBENCH_DEVICE_EXTRA_CMAKE_ARGS="-DCMAKE_IGNORE_PREFIX_PATH=/usr;/usr/local -DCMAKE_MAKE_PROGRAM=$(command -v ninja)" \
      bash "$repo/scripts/gpu/setup_on_device.sh" "$scratch/build" "$scratch/prefix" || return 1
    local cache="$scratch/build/CMakeCache.txt" var value bad=0 t
    for var in nlohmann_json_DIR yaml-cpp_DIR CLI11_DIR simdjson_DIR GTest_DIR benchmark_DIR \
               OPENSSL_INCLUDE_DIR ZLIB_INCLUDE_DIR ICU_INCLUDE_DIR PCRE2_INCLUDEDIR; do
      value=$(sed -n "s/^$var:[A-Z]*=//p" "$cache")
      case "$value" in
        "$scratch/prefix"/*) echo "$var=$value" ;;
        *) echo "$var is not resolved inside the bundle: '$value'"; bad=1 ;;
      esac
    done
    for t in "${gpu_targets[@]}"; do
      grep -q "^build $t:\|^build tests/$t:" "$scratch/build/build.ninja" ||
        { echo "the configured build has no target $t"; bad=1; }
    done
    return "$bad"
  }
  stage build "dry run: unpack + configure against the bundle alone (nothing built)" check_configure
  build="${KVBENCH_CHECK_CPU_BUILD:-$repo/build}"
else
  build="$repo/build-gpu"
  stage build "unpack + configure + build ${gpu_targets[*]}" \
    bash "$repo/scripts/gpu/setup_on_device.sh" "$build" "$repo/.device/prefix" "${gpu_targets[@]}"
  # A re-run on a still-warm machine that skips the build stage but carries .device again gets a
  # .device without the unpacked prefix (a carried path replaces the folder there): unpack it again.
  if [ ! -d "$repo/.device/prefix/usr/lib/x86_64-linux-gnu" ]; then
    for deb in "$repo"/.device/debs/*.deb; do dpkg -x "$deb" "$repo/.device/prefix"; done
  fi
  export LD_LIBRARY_PATH="$repo/.device/prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# Data the methods read at run time (InfiniGen's calibration text): the carried .device/data.
[ "$dry" = 0 ] && [ -d "$repo/.device/data" ] && export KVBENCH_DATA_DIR="$repo/.device/data"

# --- tests, kernels ---------------------------------------------------------------------------------
export KVBENCH_TEST_TMP="${KVBENCH_TEST_TMP:-$build/test-tmp}"
stage tests "ctest -L gpu (skips without a GPU)" \
  ctest --test-dir "$build" -L gpu --output-on-failure --output-junit "$out/gpu-tests.xml"
if [ "$dry" = 1 ]; then
  kernel_filter="BM_GatherRows_Reference"
  kernel_args=(--benchmark_min_time=0.05)  # Google Benchmark 1.7: seconds as a plain number
else
  kernel_filter="_Cuda"
  kernel_args=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
fi
stage kernels "bench_kv_ops --benchmark_filter=$kernel_filter" \
  "$build/tests/bench_kv_ops" --benchmark_filter="$kernel_filter" "${kernel_args[@]}" \
  --benchmark_out="$out/bench_kv_ops.json" --benchmark_out_format=json

# --- models, decode ---------------------------------------------------------------------------------
# Methods as bench_model reads them: names, each optionally with overrides (infinigen:dense_layers=1).
methods="${KVBENCH_CHECK_METHODS:-full,shadowkv,yakv_gpu,quest}"
if [ "$dry" = 1 ]; then
  models_dir="$KVBENCH_TEST_TMP/tiny_models"
  make_models() { "$py" "$repo/scripts/make_tiny_checkpoints.py" "$models_dir" >/dev/null && ls "$models_dir/llama3"; }
  stage models "dry run: the tiny Llama checkpoint instead of the 8B-shaped ones" make_models
  decode_model="$models_dir/llama3"
  contexts="${KVBENCH_CHECK_CONTEXTS:-256,512}"
else
  models_dir="${KVBENCH_CHECK_MODELS_DIR:-/tmp/kvbench-large}"
  # The Qwen3-30B-A3B-shaped one only with KVBENCH_CHECK_MOE=1 (minutes more of the budget).
  large_models="llama31_8b"
  [ "${KVBENCH_CHECK_MOE:-0}" = 1 ] && large_models="llama31_8b,qwen3_30b_a3b"
  model_parity() {
    if [ "${KVBENCH_CHECK_PARITY:-1}" = 0 ]; then  # the checkpoint for the decode stage only
      "$py" "$repo/scripts/gpu/make_large_checkpoints.py" "$models_dir" --models "$large_models" --no-reference
      return
    fi
    "$py" "$repo/scripts/gpu/make_large_checkpoints.py" "$models_dir" --models "$large_models" || return 1
    local list=""
    for m in ${large_models//,/ }; do list="${list:+$list:}$models_dir/$m"; done
    KVBENCH_LARGE_MODELS="$list" KVBENCH_PYTHON="$py" \
      KVBENCH_SOURCE_DIR="$repo" "$build/tests/test_model_gpu" --gtest_output="json:$out/test_model_gpu.json"
  }
  stage models "8B/30B-A3B-shaped random bf16 checkpoints + bf16 greedy parity with transformers" model_parity
  decode_model="$models_dir/llama31_8b"
  contexts="${KVBENCH_CHECK_CONTEXTS:-32768,131072}"
fi
# One bench_model process and JSON file per context, shortest first, so the figures of the shorter
# contexts survive a cut at the time budget.
decode() {
  [ -d "$decode_model" ] || { echo "no checkpoint at $decode_model (models stage)"; return 1; }
  local context failed=0
  for context in ${contexts//,/ }; do  # a failed benchmark (exit 1, its error in the JSON) stops no other
    KVBENCH_BENCH_MODEL_DIR="$decode_model" KVBENCH_BENCH_METHODS="$methods" KVBENCH_BENCH_CONTEXTS="$context" \
      KVBENCH_BENCH_PREFILL_CHUNK="${KVBENCH_BENCH_PREFILL_CHUNK:-8192}" \
      "$build/tests/bench_model" --benchmark_filter=BM_Generate \
      --benchmark_out="$out/bench_model_$context.json" --benchmark_out_format=json || failed=1
  done
  return "$failed"
}
stage decode "bench_model: $methods at contexts $contexts" decode

# --- record -----------------------------------------------------------------------------------------
machine="$out/machine.txt"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.memory --format=csv 2>/dev/null ||
    echo "no nvidia-smi (no GPU)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")' 2>&1
  command -v nvcc >/dev/null && nvcc --version | tail -n 1
} >"$machine" 2>&1
"$py" "$repo/scripts/gpu/write_check_record.py" --out "$out" --commit "$commit" --dry-run "$dry" \
  --total-seconds $(( $(date +%s) - start_all ))
status=$?
log "record: $out/gpu-check.md"
# The check fails when the record could not be written or a stage failed.
[ "$status" -eq 0 ] && ! grep -q "	failed" "$stages"
