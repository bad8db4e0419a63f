#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prepares what the GPU machine (no network, no Debian -dev packages, no ../shared) needs to build
# and test kvbench, in the git-ignored folder .device/ of the repo, to be named in the device tool's
# `carry`:
#   .device/debs/   the Debian packages of the build dependencies (apt-get download), unpacked there
#                   by scripts/gpu/setup_on_device.sh with dpkg -x into .device/prefix
#   .device/data/   the parts of ../shared/data the tests and configs read
# Run here (network to Debian), then on the device: `bash scripts/gpu/setup_on_device.sh`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$repo/.device"
data="${KVBENCH_DATA_DIR:-$repo/../shared/data}"
mkdir -p "$out/debs" "$out/data"
pkgs=(nlohmann-json3-dev libcli11-dev libsimdjson-dev libsimdjson14 libyaml-cpp-dev libyaml-cpp0.7
      libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 libgtest-dev libgmock-dev
      libbenchmark-dev libbenchmark1 libssl-dev zlib1g-dev libicu-dev libicu72 ccache
      libcurl4-openssl-dev libcurl4 libzip-dev libzip4)
( cd "$out/debs" && apt-get download "${pkgs[@]}" )
for sub in tokenizers gsm8k niah/paul_graham_essays niah/ruler/task_templates.json; do
  mkdir -p "$out/data/$(dirname "$sub")"
  cp -r "$data/$sub" "$out/data/$(dirname "$sub")/"
done
du -sh "$out"/debs "$out"/data
