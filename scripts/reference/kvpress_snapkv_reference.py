# SPDX-License-Identifier: Apache-2.0
"""SnapKV scores and kept rows from kvpress's own SnapKVPress (PyPI kvpress 0.5.5, pinned in
scripts/requirements-nodeps.txt), for tests/methods/test_snapkv_kvpress.cpp.

Usage: kvpress_snapkv_reference.py OUT.json [seed]

Random queries q [1, Hq, S, d] and keys k [1, Hkv, S, d] (fp32) go through SnapKVPress.compress with
a stand-in attention module whose q_proj is the identity and whose RoPE is the identity (cos 1,
sin 0), so kvpress's window queries are exactly q's last rows and the C++ side can score the same
tensors. Writes q, k, kvpress's scores [1, Hkv, S] (window padded with max + 1) and the kept row
indices per KV head (sorted) for compression_ratio 0.5.

kvpress is installed with --no-deps (it declares transformers<5.3; kvbench pins a newer one), and
its package __init__ imports optional presses with dependencies kvbench does not install, so the
package and its presses folder are registered as bare namespaces and only snapkv_press (with the
scorer_press/base_press/utils modules it imports) is loaded: the code that runs is kvpress's own.
"""
import importlib.util
import json
import os
import sys
import types

import torch
from torch import nn


def load_snapkv_press():
    spec = importlib.util.find_spec("kvpress")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("kvpress is not installed (scripts/requirements-nodeps.txt)")
    root = list(spec.submodule_search_locations)[0]
    for name, path in (("kvpress", root), ("kvpress.presses", os.path.join(root, "presses"))):
        module = types.ModuleType(name)
        module.__path__ = [path]
        sys.modules[name] = module
    from kvpress.presses.snapkv_press import SnapKVPress

    return SnapKVPress


class StandInAttention(nn.Module):
    """What SnapKVPress reads of an attention layer: config heads, head_dim, q_proj (identity)."""

    def __init__(self, num_heads, num_kv_heads, head_dim):
        super().__init__()
        self.config = types.SimpleNamespace(num_attention_heads=num_heads, num_key_value_heads=num_kv_heads)
        self.head_dim = head_dim
        self.q_proj = nn.Identity()


def main():
    out_path = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    hq, hkv, s, d, window, kernel, ratio = 4, 2, 48, 64, 8, 5, 0.5
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(1, hq, s, d, generator=generator)
    k = torch.randn(1, hkv, s, d, generator=generator)
    v = torch.randn(1, hkv, s, d, generator=generator)
    SnapKVPress = load_snapkv_press()
    press = SnapKVPress(compression_ratio=ratio, window_size=window, kernel_size=kernel)
    module = StandInAttention(hq, hkv, d)
    hidden = q.transpose(1, 2).reshape(1, s, hq * d)  # q_proj = identity: the queries themselves
    cos, sin = torch.ones(1, s, d), torch.zeros(1, s, d)
    kwargs = {"position_embeddings": (cos, sin)}
    with torch.no_grad():
        scores = press.score(module, hidden, k, v, None, kwargs)
        kept_keys, _ = press.compress(module, hidden, k, v, None, kwargs)
    # Rows kept, per KV head: match the kept keys back to their rows (keys are distinct random rows).
    kept = []
    for h in range(hkv):
        rows = []
        for key in kept_keys[0, h]:
            rows.append(int(torch.nonzero((k[0, h] == key).all(-1))[0, 0]))
        kept.append(sorted(rows))
    json.dump(
        {
            "num_heads": hq, "num_kv_heads": hkv, "seq_len": s, "head_dim": d, "window_size": window,
            "kernel_size": kernel, "compression_ratio": ratio, "n_kept": len(kept[0]),
            "queries": q.tolist(), "keys": k.tolist(), "scores": scores.tolist(), "kept": kept,
        },
        open(out_path, "w"),
    )


if __name__ == "__main__":
    main()
