#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The include-rule check: every quoted #include in the source tree must point to a layer that
the including file's layer may use. The layers and what each may include are the table in the
```layers block of ARCHITECTURE.md, so the document and the check cannot drift apart.

Usage: check_layers.py [ROOT]   (ROOT: the repository, default: this script's parent folder)
Exit 0 when every include follows the rules; 1 with one line per violation
("path:line: <layer> must not include <target> (<target layer>)"); 2 when the table is unreadable
or a source file belongs to no layer.
"""
import os
import re
import sys

SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh", ".inc")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_table(root):
    """Parses the ```layers block: one layer per line, `name  folders...  :  allowed...`."""
    path = os.path.join(root, "ARCHITECTURE.md")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        sys.exit(f"check_layers: cannot read {path}: {e.strerror}")
    block = re.search(r"^```layers\n(.*?)^```", text, re.M | re.S)
    if not block:
        sys.exit(f"check_layers: {path}: no ```layers block")
    layers = []  # (name, [path prefixes], set(allowed layer names))
    first_line = text[: block.start(1)].count("\n") + 1
    for offset, line in enumerate(block.group(1).splitlines()):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if ":" not in line:
            sys.exit(f"check_layers: {path}:{first_line + offset}: expected 'layer folders... : allowed...'")
        left, right = line.split(":", 1)
        words = left.split()
        if len(words) < 2:
            sys.exit(f"check_layers: {path}:{first_line + offset}: a layer needs a name and at least one folder")
        layers.append((words[0], words[1:], set(right.split())))
    names = {name for name, _, _ in layers}
    for name, _, allowed in layers:
        unknown = allowed - names - {"*"}
        if unknown:
            sys.exit(f"check_layers: {path}: layer {name} allows unknown layer(s) {sorted(unknown)}")
    return layers


def layer_of(relpath, layers):
    """The layer whose longest folder/file prefix matches relpath (None: outside every layer)."""
    best, best_len = None, -1
    for name, prefixes, _ in layers:
        for prefix in prefixes:
            # "harness/*" means files directly in harness/, not in its subfolders.
            if prefix.endswith("/*"):
                folder = prefix[:-1]
                if relpath.startswith(folder) and "/" not in relpath[len(folder):] and len(folder) > best_len:
                    best, best_len = name, len(folder)
            elif (relpath == prefix or relpath.startswith(prefix.rstrip("/") + "/")) and len(prefix) > best_len:
                best, best_len = name, len(prefix)
    return best


def check(root):
    layers = read_table(root)
    allowed = {name: allow for name, _, allow in layers}
    top_folders = sorted({p.split("/")[0] for _, prefixes, _ in layers for p in prefixes})
    violations, unplaced = [], []
    for top in top_folders:
        base = os.path.join(root, top)
        if os.path.isfile(base):
            files = [top]
        else:
            files = []
            for folder, _, names in os.walk(base):
                for n in names:
                    if n.endswith(SOURCE_SUFFIXES):
                        files.append(os.path.relpath(os.path.join(folder, n), root).replace(os.sep, "/"))
        for rel in sorted(files):
            source_layer = layer_of(rel, layers)
            if source_layer is None:
                unplaced.append(rel)
                continue
            with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
                for number, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m or "/" not in m.group(1):
                        continue  # same-folder or generated include
                    target = m.group(1)
                    target_layer = layer_of(target, layers)
                    if target_layer is None or target_layer == source_layer:
                        continue  # not a project path (e.g. "cuda_runtime.h" in a subfolder) / same layer
                    if "*" in allowed[source_layer] or target_layer in allowed[source_layer]:
                        continue
                    violations.append(f"{rel}:{number}: layer {source_layer} must not include "
                                      f"{target} (layer {target_layer}; {source_layer} may include: "
                                      f"{' '.join(sorted(allowed[source_layer])) or 'nothing else'})")
    return violations, unplaced


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    violations, unplaced = check(root)
    for rel in unplaced:
        print(f"{rel}: belongs to no layer of ARCHITECTURE.md's layers table", file=sys.stderr)
    for v in violations:
        print(v, file=sys.stderr)
    if unplaced:
        return 2
    if violations:
        print(f"check_layers: {len(violations)} include(s) cross a layer the wrong way", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
