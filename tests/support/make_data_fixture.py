#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test-only fixture for `kvbench data check|fetch` (tests/unit/test_data_cli.cpp).

Writes under OUT, for every file of the registry's longbench group (datasets/data_sources.json):
  official/<file>          generated stand-in content, CRLF line endings like the real files
                           (narrativeqa.jsonl is ~400 KB of incompressible text, the rest ~2 KB)
  OFFICIAL_CHECKSUMS.tsv   their sizes and sha256 in the real table's format
  serve/data.zip           every file as member data/<file> (as THUDM's data.zip), deflated
  serve/files/<file>       the same files one by one (for a download.kind "files" registry)
  bad/data.zip, bad/files/ the same, but narrativeqa.jsonl has one byte changed (same size)
  sources_files.json       a registry whose longbench group downloads per file from files/
"""
import hashlib
import json
import os
import random
import sys
import zipfile


def content(name, rng):
    lines = []
    count = 60 if name == "narrativeqa.jsonl" else 3
    for i in range(count):
        if name == "narrativeqa.jsonl":
            text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ,.") for _ in range(6000))
        else:
            text = f"stand-in for {name}, record {i}"
        lines.append(json.dumps({"input": f"q{i}", "context": text, "answers": [f"a{i}"],
                                 "_id": f"{name}-{i}"}, ensure_ascii=False))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def main():
    source, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(source, "datasets", "data_sources.json"), encoding="utf-8") as f:
        registry = json.load(f)
    group = next(g for g in registry["groups"] if g["name"] == "longbench")
    rng = random.Random(5)
    files = {name: content(name, rng) for name in group["files"]}
    tampered = dict(files)
    broken = bytearray(files["narrativeqa.jsonl"])
    broken[len(broken) // 2] ^= 0x01
    tampered["narrativeqa.jsonl"] = bytes(broken)

    for sub in ("official", "serve/files", "bad/files"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    rows = []
    for name, data in files.items():
        with open(os.path.join(out, "official", name), "wb") as f:
            f.write(data)
        rows.append(f"{name}\t\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\tno")
    with open(os.path.join(out, "OFFICIAL_CHECKSUMS.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# Test stand-ins for the official LongBench files (generated).\n")
        f.write("file\trecords\tsize_bytes\tsha256\tin_shared\n")
        f.write("\n".join(rows) + "\n")
    for folder, contents in (("serve", files), ("bad", tampered)):
        with zipfile.ZipFile(os.path.join(out, folder, "data.zip"), "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in contents.items():
                z.writestr("data/" + name, data)
        for name, data in contents.items():
            with open(os.path.join(out, folder, "files", name), "wb") as f:
                f.write(data)
    per_file = json.loads(json.dumps(registry))
    per_file["groups"] = [dict(group, download={"kind": "files", "base_url": "http://unused.invalid/",
                                                "path_prefix": "files/"})]
    with open(os.path.join(out, "sources_files.json"), "w", encoding="utf-8") as f:
        json.dump(per_file, f, indent=2)


if __name__ == "__main__":
    main()
