# SPDX-License-Identifier: Apache-2.0
"""Reference draws of CPython's random.Random for kvbench's PythonRandom test.
usage: python_random_vectors.py OUT.json ; writes, per case, random.Random(seed).sample(range(n), k)
repeated `repeat` times on one generator, getrandbits for a few widths, and random()."""
import json
import random
import sys

CASES = [  # seed, population size, k, repeats on one generator
    (1234, 7473, 5, 40), (1234, 7473, 6, 5), (0, 10, 10, 3), (42, 30, 7, 5), (7, 100, 25, 3),
    (2**40 + 5, 1000, 3, 4), (1, 1, 1, 2), (99, 5, 0, 1), (2**32 - 1, 200, 90, 2),
]


def main() -> None:
    out = {"sample": [], "bits": [], "random": []}
    for seed, n, k, repeat in CASES:
        rnd = random.Random(seed)
        draws = [rnd.sample(range(n), k) for _ in range(repeat)]
        out["sample"].append({"seed": seed, "n": n, "k": k, "draws": draws})
    rnd = random.Random(1234)
    out["bits"] = [[k, rnd.getrandbits(k)] for k in (1, 7, 13, 32, 33, 40, 63, 64, 5, 31)]
    rnd = random.Random(5)
    out["random"] = [rnd.random() for _ in range(10)]
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
