#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generate the EDEN grids of the HIGGS quantizer (docs/methods.md 1.8), deterministically.

An EDEN{D}-{N} grid is N points in R^D that minimise E||z - nearest point||^2 for z ~ N(0, I_D).
They are found by stochastic Lloyd iterations, as in the reference generator (yandex-research/
context-intensive-kv-offloading, utils/grid_generator.py):
  grid_0 ~ N(0, I) [N, D]
  step n = 0..steps-1: draw `samples` fresh N(0, I) points, assign each to its nearest grid point
    (argmax 2 z.G_c - ||G_c||^2), compute the centre of mass m_c of every cell, and move
    grid <- grid + gamma_n (m - grid), gamma_n = gamma0 A / (A + gamma0 B n),
    A = 4 N^(1/D), B = pi^2 N^(-2/D), gamma0 = 2.
  The result is the centres of mass of the last step (the reference returns those, not the moved grid).
Differences from the reference, all for determinism and CPU runtime: a seeded CPU torch.Generator
(the reference draws unseeded on CUDA); centres of mass are accumulated in float64; an empty cell keeps its point (the reference would produce NaN); the
sample count per step is a parameter (the reference uses 10M; the shipped grids record theirs).
After the iterations the per-coordinate MSE on an independent sample is estimated and stored.

Output: <out>/EDEN{D}-{N}.json with the fields read by harness/kv/higgs.cpp (load_higgs_grid):
  format "kvbench-higgs-grid", version 1, dim, size, expected_mse, expected_mse_stderr, points
  (N lists of D floats, printed with 9 significant digits, which round-trips float32), and the
  generation settings (seed, samples, steps, gamma0, eval_samples).
"""

import argparse
import json
import math
import pathlib
import sys
import time

import torch


def assign(points: torch.Tensor, grid: torch.Tensor, norms: torch.Tensor, chunk: int) -> torch.Tensor:
    """Index of the nearest grid point of every row of points [M, D] (ties: lowest index)."""
    out = torch.empty(points.shape[0], dtype=torch.long)
    for begin in range(0, points.shape[0], chunk):
        scores = 2.0 * (points[begin:begin + chunk] @ grid.T) - norms
        out[begin:begin + chunk] = torch.argmax(scores, dim=1)
    return out


def lloyd_step(grid: torch.Tensor, samples: torch.Tensor, chunk: int):
    """Centres of mass of the cells of `grid` (float32 [N, D]) under `samples`, and the MSE."""
    n, d = grid.shape
    grid64 = grid.to(torch.float64)
    idx = assign(samples, grid, (grid * grid).sum(dim=1), chunk)
    counts = torch.bincount(idx, minlength=n).to(torch.float64)
    sums = torch.stack([torch.bincount(idx, weights=samples[:, k].to(torch.float64), minlength=n)
                        for k in range(d)], dim=1)
    centres = grid64.clone()
    filled = counts > 0
    centres[filled] = sums[filled] / counts[filled].unsqueeze(1)
    mse = float(((samples.to(torch.float64) - grid64[idx]) ** 2).mean())
    return centres.to(torch.float32), mse


def generate(dim: int, size: int, samples: int, steps: int, gamma0: float, seed: int, chunk: int,
             log=None) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    a = 4.0 * size ** (1.0 / dim)
    b = math.pi ** 2 * size ** (-2.0 / dim)
    grid = torch.randn(size, dim, generator=gen, dtype=torch.float32)
    centres = grid
    for n in range(steps):
        points = torch.randn(samples, dim, generator=gen, dtype=torch.float32)
        centres, mse = lloyd_step(grid, points, chunk)
        gamma = gamma0 * a / (a + gamma0 * b * n)
        grid = grid + gamma * (centres - grid)
        if log is not None and (n % 50 == 0 or n == steps - 1):
            log(f"EDEN{dim}-{size} step {n}/{steps}: sample mse/coord {mse / 1.0:.6f} gamma {gamma:.4f}")
    return centres


def expected_mse(grid: torch.Tensor, samples: int, seed: int, chunk: int):
    """Per-coordinate MSE of nearest-point quantization of N(0, I_D), and its standard error."""
    gen = torch.Generator().manual_seed(seed)
    grid64 = grid.to(torch.float64)
    norms = (grid * grid).sum(dim=1)
    total, total_sq, count = 0.0, 0.0, 0
    for begin in range(0, samples, 1 << 20):
        m = min(1 << 20, samples - begin)
        z = torch.randn(m, grid.shape[1], generator=gen, dtype=torch.float32)
        idx = assign(z, grid, norms, chunk)
        err = ((z.to(torch.float64) - grid64[idx]) ** 2).mean(dim=1)  # per sub-vector, per coordinate
        total += float(err.sum())
        total_sq += float((err * err).sum())
        count += m
    mean = total / count
    var = max(total_sq / count - mean * mean, 0.0)
    return mean, math.sqrt(var / count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", action="append", required=True, metavar="D-N",
                        help="grid to generate, e.g. 4-256 (repeatable)")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="output folder")
    parser.add_argument("--samples", type=int, default=10_000_000, help="N(0,I) samples per Lloyd step")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--gamma0", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=20260409)
    parser.add_argument("--eval-samples", type=int, default=4_000_000,
                        help="independent samples for the stored expected MSE")
    parser.add_argument("--chunk", type=int, default=1 << 15, help="rows per assignment matmul")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    for spec in args.grid:
        try:
            dim, size = (int(v) for v in spec.split("-"))
        except ValueError:
            parser.error(f"--grid {spec!r}: expected D-N, e.g. 4-256")
        if dim < 1 or size < 2 or size > 256:
            parser.error(f"--grid {spec!r}: need D >= 1 and 2 <= N <= 256 (uint8 codes)")
        start = time.time()
        # One seed per grid, derived from the base seed, so grids do not depend on generation order.
        seed = args.seed + 1000 * dim + size
        grid = generate(dim, size, args.samples, args.steps, args.gamma0, seed, args.chunk, log)
        mse, stderr = expected_mse(grid, args.eval_samples, seed + 1, args.chunk)
        doc = {
            "format": "kvbench-higgs-grid",
            "version": 1,
            "dim": dim,
            "size": size,
            "expected_mse": float(f"{mse:.9g}"),
            "expected_mse_stderr": float(f"{stderr:.3g}"),
            "generator": {"script": "scripts/gen_higgs_grids.py", "seed": seed, "samples": args.samples,
                          "steps": args.steps, "gamma0": args.gamma0, "eval_samples": args.eval_samples},
            "points": [[float(f"{v:.9g}") for v in row] for row in grid.tolist()],
        }
        path = args.out / f"EDEN{dim}-{size}.json"
        text = json.dumps(doc, indent=None, separators=(",", ":"))
        # One grid point per line keeps diffs readable.
        text = text.replace("],[", "],\n[")
        path.write_text(text + "\n")
        if log is not None:
            log(f"wrote {path}: expected mse/coord {mse:.6f} +- {stderr:.1e} ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
