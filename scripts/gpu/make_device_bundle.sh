#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prepares what the GPU machine (no network, no Debian -dev packages, no ../shared) needs to build
# and check kvbench, in the git-ignored folder .device/ of the repo, to be named in the device tool's
# `carry` (the working tree and everything carried must stay under 64 MiB):
#   .device/debs/       the Debian packages of scripts/gpu/device_packages.txt (apt-get download),
#                       unpacked on the device by scripts/gpu/setup_on_device.sh (dpkg -x, no install)
#   .device/commit.txt  the commit (and whether the tree is dirty) the bundle was made from: the
#                       device receives a copy of the working tree without .git
#   .device/data/       niah/paul_graham_essays (InfiniGen's calibration text); with --with-data also
#                       the other parts of ../shared/data that `kvbench run` reads
# Usage: scripts/gpu/make_device_bundle.sh [--with-data]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$repo/.device"
data="${KVBENCH_DATA_DIR:-$repo/../shared/data}"
mapfile -t pkgs < <(sed 's/#.*//' "$repo/scripts/gpu/device_packages.txt" | tr -s ' \t' '\n' | sed '/^$/d')
rm -rf "$out/debs"
mkdir -p "$out/debs"
# apt-get download as root warns that _apt cannot write the folder; the download itself works.
( cd "$out/debs" && apt-get download -q "${pkgs[@]}" 2>&1 | grep -v "couldn't be accessed by user '_apt'" ) || true
for p in "${pkgs[@]}"; do
  compgen -G "$out/debs/${p}_*.deb" >/dev/null || { echo "make_device_bundle: apt-get download $p failed" >&2; exit 1; }
done
commit="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
git -C "$repo" diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
echo "$commit" > "$out/commit.txt"
# Always: the Paul Graham essays (0.7 MB), InfiniGen's calibration text; --with-data: what `kvbench
# run` reads for the shipped tasks too.
subs=(niah/paul_graham_essays)
[ "${1:-}" = "--with-data" ] && subs+=(tokenizers gsm8k niah/ruler/task_templates.json)
rm -rf "$out/data"
for sub in "${subs[@]}"; do
  mkdir -p "$out/data/$(dirname "$sub")"
  cp -r "$data/$sub" "$out/data/$(dirname "$sub")/"
done
du -sh "$out"/* >&2
