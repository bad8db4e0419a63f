#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# On the GPU machine (after scripts/gpu/make_device_bundle.sh here and `carry: [.device]`):
# unpacks the carried .deb files into .device/prefix (dpkg -x, nothing installed system-wide),
# configures build-gpu/ against the system python's CUDA torch 2.11 and that prefix, and builds.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prefix="$repo/.device/prefix"
mkdir -p "$prefix"
for deb in "$repo"/.device/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
cmake -S "$repo" -B "$repo/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr" -DKVBENCH_PYTHON="$(command -v python3)" \
      -DKVBENCH_DATA_DIR="$repo/.device/data"
cmake --build "$repo/build-gpu" -j "$(nproc)"
echo "built: $repo/build-gpu (export LD_LIBRARY_PATH=$LD_LIBRARY_PATH before running)"
