# SPDX-License-Identifier: Apache-2.0
# Reference side of tests/unit/test_unicode_parity.cpp: CPython's own str.lower, str.isspace,
# str.split and re's \w / \d / \s over every code point (in blocks), plus final-sigma contexts.
# Usage: python unicode_reference.py out.jsonl
import json
import re
import sys

word, digit, space = re.compile(r"\w"), re.compile(r"\d"), re.compile(r"\s")
with open(sys.argv[1], "w", encoding="utf-8") as out:
    for start in range(0, 0x110000, 0x4000):
        chars = [chr(c) for c in range(start, start + 0x4000) if not 0xD800 <= c <= 0xDFFF]
        text = "".join(chars)
        flags = "".join(chr(97 + int(word.match(ch) is not None) + 2 * int(digit.match(ch) is not None) +
                            4 * int(space.match(ch) is not None) + 8 * int(ch.isspace())) for ch in chars)
        out.write(json.dumps({"start": start, "text": text, "lower": text.lower(), "flags": flags,
                              "split": len(text.split())}) + "\n")
    # Final sigma next to every character class that matters: letters, marks, punctuation, spaces.
    probes = ["A\u03a3", "\u03a3", "A\u03a3B", "A\u03a3.", "A'\u03a3", "A\u00ad\u03a3", "1\u03a3", "A\u03a3\u0301",
              "A\u03a3\u0301B", "\u1e9e\u03a3", "\u02b0\u03a3", "A\u0345\u03a3", "\u03a3\u03a3", "A \u03a3"]
    out.write(json.dumps({"probes": probes, "lower": [p.lower() for p in probes]}) + "\n")
