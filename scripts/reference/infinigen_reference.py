# SPDX-License-Identifier: Apache-2.0
"""InfiniGen's skewing, partial channels and speculative selection as the reference code computes
them, re-written for tests/methods/test_infinigen_reference.cpp.

Provenance (read, re-written to follow the algorithm and order of operations; no code copied):
  - snu-comparch/InfiniGen @ 3754f52, accuracy/setup/gen_llama_skewing_matrix.py `main`: per layer
    and head torch.svd of the fp32 post-RoPE query and key rows, s = sq * sk, `_, ind = s.sort()`,
    A = zeros.scatter(-1, ind repeated over rows, vq).
  - same repository, accuracy/src/modeling_llama_ours_setup.py `LlamaAttention.forward` (run by
    accuracy/setup/gen_partial_weight.py): per head the int(head_dim * ratio) columns with the
    largest sum over tokens of |Q_h A_h|, then likewise of |K_h A_h|, both scattered into one
    weight mask (row 0 of it is the [H * d] channel mask the port reads).
  - yandex-research/context-intensive-kv-offloading @ 721b2d1,
    shadowkv-models/shadowkv_models/llama_infinigen.py `LlamaAttention.forward` (infinigen_active
    branch) and `kv_cache_mask` (tgt_len == 1): query = previous layer's hidden states @ W_q^T,
    RoPE (rotate_half form), @ skewing matrix, * partial mask; scores = query @ (repeat_kv(keys) @ A)^T
    / sqrt(head_dim); fetch_max = int(src_len * budget); top-k per query head (alpha unused).
Changed: GQA in the setup scripts (written for Llama-2 MHA): query head h uses KV head h // (Hq/Hkv),
as repeat_kv does at run time; the calibration rows are random tensors with a decaying spectrum
instead of a model's pass over PG-19; fp32 on CPU instead of fp16 on CUDA; one layer.

Usage: infinigen_reference.py OUT.json [seed]
Writes the random inputs, A [Hq, d, d], the channel mask [Hq, d] and the slots each query head
fetches at the decode step (sorted), for a layer with the shapes below.
"""
import json
import math
import sys

import torch


def structured_rows(generator, heads, n, d):
    """Rows with a decaying spectrum (a few dominant directions, as real queries and keys have)."""
    scale = 0.9 ** torch.arange(d, dtype=torch.float32)
    basis, _ = torch.linalg.qr(torch.randn(heads, d, d, generator=generator))
    return (torch.randn(heads, n, d, generator=generator) * scale) @ basis.transpose(1, 2)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_cos_sin(positions, d, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def skewing_matrix(query_rows, key_rows):
    """gen_llama_skewing_matrix.py for one head: rows [n, d] -> A [d, d]."""
    _, sq, vq = torch.svd(query_rows.float())
    _, sk, _ = torch.svd(key_rows.float())
    s = sq * sk
    a = torch.zeros(query_rows.shape[1], query_rows.shape[1])
    _, ind = s.sort()
    r, _ = a.shape
    return a.scatter(-1, ind.unsqueeze(0).repeat(r, 1), vq)


def partial_mask(query_rows, key_rows, a, ratio):
    """modeling_llama_ours_setup.py for one head: the union of the top query and key channels."""
    d = a.shape[0]
    mask = torch.zeros(d)
    k = int(d * ratio)
    _, ind = torch.topk(torch.sum(torch.abs(query_rows @ a), dim=-2), k)
    mask = mask.scatter(-1, ind, 1)
    _, ind = torch.topk(torch.sum(torch.abs(key_rows @ a), dim=-2), k)
    mask = mask.scatter(-1, ind, 1)
    return mask


def main():
    out_path = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    hq, hkv, d, hidden, calib_n, prompt, theta, ratio, budget = 4, 2, 64, 48, 256, 50, 10000.0, 0.2, 0.2
    group = hq // hkv
    g = torch.Generator().manual_seed(seed)
    calib_q = structured_rows(g, hq, calib_n, d)
    calib_k = structured_rows(g, hkv, calib_n, d)
    w_q = torch.randn(hq * d, hidden, generator=g) / math.sqrt(hidden)
    previous_hidden = torch.randn(1, 1, hidden, generator=g)
    keys = torch.randn(1, hkv, prompt + 1, d, generator=g)  # post-RoPE, the decode token last

    # Setup (per query head; GQA: its KV head's rows).
    a = torch.stack([skewing_matrix(calib_q[h], calib_k[h // group]) for h in range(hq)])
    mask = torch.stack([partial_mask(calib_q[h], calib_k[h // group], a[h], ratio) for h in range(hq)])
    # The channel choice is well posed if each top-k boundary is clear of near ties.
    k = int(d * ratio)
    mass_margin = min(
        (lambda m: (m[k - 1] - m[k]).item())(torch.sum(torch.abs(rows @ a[h]), dim=-2).sort(descending=True).values)
        for h in range(hq) for rows in (calib_q[h], calib_k[h // group]))

    # Decode step at position `prompt` (the port's infinigen_active branch).
    query = (previous_hidden @ w_q.t()).view(1, 1, hq, d).transpose(1, 2)
    cos, sin = rope_cos_sin(torch.tensor([prompt]), d, theta)
    cos, sin = cos[None, None], sin[None, None]
    query = query * cos + rotate_half(query) * sin
    query = query @ a.unsqueeze(0)
    query = query * mask.view(1, hq, 1, d)
    keys_rep = keys[:, :, None].expand(1, hkv, group, prompt + 1, d).reshape(1, hq, prompt + 1, d)
    attn = torch.matmul(query, (keys_rep @ a).transpose(2, 3)) / math.sqrt(d)
    src_len = attn.shape[-1]
    fetch_max = int(src_len * budget)
    values, fetch_idxs = torch.topk(attn, dim=-1, k=fetch_max)
    # The boundary must be clear of near ties for the comparison to be well posed.
    ordered = attn.sort(dim=-1, descending=True).values
    margin = (ordered[..., fetch_max - 1] - ordered[..., fetch_max]).min().item()

    json.dump({
        "num_heads": hq, "num_kv_heads": hkv, "head_dim": d, "hidden": hidden, "prompt": prompt,
        "calibration_tokens": calib_n, "rope_theta": theta, "partial_weight_ratio": ratio, "budget": budget,
        "calib_q": calib_q.tolist(), "calib_k": calib_k.tolist(), "w_q": w_q.tolist(),
        "previous_hidden": previous_hidden.tolist(), "keys": keys.tolist(),
        "skewing_matrix": a.tolist(), "mask": mask.tolist(), "fetch_max": fetch_max, "margin": margin,
        "mass_margin": mass_margin,
        "selected": [sorted(fetch_idxs[0, h, 0].tolist()) for h in range(hq)],
    }, open(out_path, "w"))


if __name__ == "__main__":
    main()
