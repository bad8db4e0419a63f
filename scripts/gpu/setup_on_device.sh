#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# On the GPU machine (after scripts/gpu/make_device_bundle.sh here and `carry: [.device]`):
# unpacks the carried .deb files into PREFIX (dpkg -x, nothing installed system-wide) and configures
# BUILD_DIR against the system python's CUDA torch 2.11 and that prefix, without plots and data
# downloads (-DKVBENCH_PLOTS=OFF -DKVBENCH_DATA_FETCH=OFF: cairo and libcurl are not bundled).
# Builds the given targets (default: everything). Prints the LD_LIBRARY_PATH to run with.
# Usage: scripts/gpu/setup_on_device.sh [BUILD_DIR [PREFIX [TARGET...]]]
# KVBENCH_DEVICE_CONFIGURE_ONLY=1 stops after configuring; KVBENCH_DEVICE_EXTRA_CMAKE_ARGS adds
# arguments (check.sh --dry-run uses both to prove the bundle alone satisfies every find_package).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build-gpu}"
prefix="${2:-$repo/.device/prefix}"
shift $(( $# < 2 ? $# : 2 ))
compgen -G "$repo/.device/debs/*.deb" >/dev/null || {
  echo "setup_on_device: no .device/debs/*.deb: run scripts/gpu/make_device_bundle.sh and carry .device" >&2; exit 2; }
mkdir -p "$prefix"
for deb in "$repo"/.device/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
lib="$prefix/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The bundled pkgconf (the machine may have no pkg-config) reads only the bundle's .pc files, and the
# sysroot maps their /usr paths into the prefix.
export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$prefix/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$prefix"
pkg_config="$prefix/usr/bin/pkgconf"
py="${KVBENCH_PYTHON:-$(command -v python3)}"
torch_prefix="$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
data_args=()
[ -d "$repo/.device/data" ] && data_args=(-DKVBENCH_DATA_DIR="$repo/.device/data")
read -r -a extra <<<"${KVBENCH_DEVICE_EXTRA_CMAKE_ARGS:-}"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr" -DKVBENCH_PYTHON="$py" \
      -DPKG_CONFIG_EXECUTABLE="$pkg_config" -DKVBENCH_PLOTS=OFF -DKVBENCH_DATA_FETCH=OFF \
      "${data_args[@]}" "${extra[@]}" >"$build.configure.log" 2>&1 || {
  tail -n 40 "$build.configure.log" >&2; echo "setup_on_device: configure failed (log: $build.configure.log)" >&2; exit 1; }
[ "${KVBENCH_DEVICE_CONFIGURE_ONLY:-0}" = 1 ] && { echo "configured: $build"; exit 0; }
if [ $# -gt 0 ]; then
  cmake --build "$build" -j "$(nproc)" --target "$@"
else
  cmake --build "$build" -j "$(nproc)"
fi
echo "built: $build (export LD_LIBRARY_PATH=$LD_LIBRARY_PATH before running)"
