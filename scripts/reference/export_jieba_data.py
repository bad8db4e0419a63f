# SPDX-License-Identifier: Apache-2.0
# Exports the data of the pinned PyPI `jieba` (0.42.1, MIT licence) that jieba.cut(cut_all=False,
# HMM=True) uses, into metrics/data/jieba/ for the C++ segmenter (metrics/jieba_segmenter.cpp):
#   dict.txt.gz   the default dictionary, byte-identical to jieba/dict.txt (gzip-compressed)
#   hmm.tsv.gz    finalseg's start/trans/emit log-probabilities, one per line:
#                 "start\tS\tvalue", "trans\tFROM\tTO\tvalue", "emit\tS\tcodepoint-hex\tvalue"
#                 (value = repr(float), which round-trips to the identical double)
# Usage: python scripts/reference/export_jieba_data.py metrics/data/jieba
import gzip
import os
import sys

import jieba
from jieba.finalseg import emit_P, start_P, trans_P

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
src = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
with open(src, "rb") as f:
    data = f.read()
# mtime=0 keeps the archive byte-reproducible.
with gzip.GzipFile(os.path.join(out_dir, "dict.txt.gz"), "wb", compresslevel=9, mtime=0) as f:
    f.write(data)
lines = []
for s in "BMES":
    lines.append(f"start\t{s}\t{start_P[s]!r}")
for a in "BMES":
    for b, v in sorted(trans_P[a].items()):
        lines.append(f"trans\t{a}\t{b}\t{v!r}")
for s in "BMES":
    for ch, v in sorted(emit_P[s].items()):
        assert len(ch) == 1
        lines.append(f"emit\t{s}\t{ord(ch):X}\t{v!r}")
with gzip.GzipFile(os.path.join(out_dir, "hmm.tsv.gz"), "wb", compresslevel=9, mtime=0) as f:
    f.write(("\n".join(lines) + "\n").encode())
print(f"jieba {jieba.__version__}: {len(data)} dictionary bytes, {len(lines)} HMM entries")
