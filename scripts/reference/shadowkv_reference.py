# SPDX-License-Identifier: Apache-2.0
"""ShadowKV's prefill summary (SVD of the pre-RoPE keys, chunk landmarks, outlier chunks) and its
decode-time chunk selection, ported from the reference to CPU torch, for
tests/methods/test_shadowkv_reference.cpp (acceptance 2 of issue 13).

Provenance (re-written to follow the reference's algorithm and order of operations; no code copied):
  repository  github.com/bytedance/ShadowKV, commit a21f5a9 (2024-10-30)
  files       models/kv_cache.py  ShadowKVCache (the accuracy class): __init__ (local_chunk = 4,
                                  outlier_chunk, select_sets), get_svd, prefill_kv_cache,
                                  register_k_landmark, get_retrieval_position_ids
              models/base.py      layer_compute (get_svd on the pre-RoPE keys, then RoPE, then
                                  prefill_kv_cache on the post-RoPE keys; at decode RoPE, then
                                  get_retrieval_position_ids on the post-RoPE query)
              models/llama.py     apply_rotary_pos_emb (vllm rotary_embedding, is_neox=True, cos/sin
                                  from the model's inv_freq = theta^(-2i/d))
What changed in the port:
  - CPU torch, float32 model dtype (the reference runs bfloat16 on CUDA; kvbench's CPU path is
    float32, and in bfloat16 the softmax scores would tie massively); the .to(dtype) casts are kept;
  - one layer, batch 1 (the class asserts batch 1); the per-layer [L, ...] tensors are one tensor;
  - the attention buffers (k/v_cache_buffer, v_cache_cpu) and get_key_cache / get_value_cache are
    left out: they move rows but decide nothing about which chunks are chosen. What is kept:
    prefill_local, the outlier chunk ids, the landmarks with their chunk ids (rest_idx), the SVD
    factors U, SV, and per decode step the selected chunk ids (selected_chunk_idx) and positions;
  - RoPE is the neox rotate-half form in float32 (vllm's kernel on a bfloat16 cos/sin cache there);
  - the scores keep the reference's division by sqrt(128) (its models' head_dim; the test uses
    head_dim 128, where kvbench's 1/sqrt(d) is the same number);
  - diagnostics added (not in the reference): per case the gap at the outlier boundary and per
    decode step the relative gap at the top-k boundary with the bound it must exceed (see below).

Usage: shadowkv_reference.py OUT.json [base_seed]
Writes cases with awkward sizes (prompt not a multiple of the chunk, GQA groups 4 and 3): the random
tensors (pre-RoPE and post-RoPE keys [1, Hkv, N, d], N = S + steps, and the post-RoPE decode queries
[1, Hq, steps, d], kvbench's layout),
the reference's prefill_local, outlier chunk ids, landmark ids and landmarks, U @ SV (the rank-r
key approximation, sign-free), and per decode step the selected chunk ids per KV head.

Margins (test helper, not part of the port): kvbench computes the same float32 quantities in other
summation orders. Outliers: the cosines are 128-term float32 dot products over norms, |error| <=
~2 * 128 * 2^-24 < 2e-5, so keys are redrawn until the o-th and (o+1)-th smallest minimum cosines
are >= 1e-4 apart. Scores: a logit q.L/sqrt(128) summed in another order differs by at most
delta = 128 * 2^-24 * sum_i |q_i L_i| / sqrt(128) (worst case, any order); a softmax probability
then changes by a factor within exp(+-2 delta), and by another (C + 8) * 2^-24 relative from exp and
the normalising sum; the max over the group keeps that relative bound. Queries are redrawn until,
per KV head, (p_k - p_(k+1)) / p_k > 2 * (exp(2 delta) - 1 + (C + 8) * 2^-24) + 1e-6, so both
implementations must rank the same k chunks first.
"""
import json
import math
import sys

import torch

EPS32 = 2.0 ** -24


# ---------------------------------------------------------------------------------------------
# The port.

def neox_rope(x, positions, theta):
    """llama.py apply_rotary_pos_emb (vllm rotary_embedding, is_neox): x [1, H, N, d], positions [N]."""
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    freqs = positions.to(torch.float32)[:, None] * inv_freq[None, :]  # [N, d/2]
    cos, sin = freqs.cos(), freqs.sin()
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


class ShadowKVCacheRef:
    """kv_cache.py ShadowKVCache, one layer, batch 1, selection state only."""

    def __init__(self, num_attention_heads, num_key_value_heads, head_dim, sparse_budget, chunk_size, rank,
                 outlier_chunk, dtype=torch.float32):
        self.num_key_value_groups = num_attention_heads // num_key_value_heads
        self.num_key_value_heads = num_key_value_heads
        self.head_dim = head_dim
        self.batch_size = 1
        self.dtype = dtype
        self.sparse_budget = int(sparse_budget)
        self.chunk_size = chunk_size
        self.rank = rank
        self.local_chunk = 4
        self.outlier_chunk = outlier_chunk  # 48 in the class; a parameter here for small prompts

    def get_svd(self, new_k_cache):
        # [1, Hkv, S, d] -> [1, S, Hkv*d]: all KV heads of a token in one row.
        k_cache = new_k_cache.transpose(1, 2).reshape(self.batch_size, -1, self.num_key_value_heads * self.head_dim)
        u, s, v = torch.svd(k_cache.float())
        v = v.transpose(1, 2)
        self.U = u[:, :, : self.rank].to(self.dtype)  # [1, S, r]
        sv = torch.matmul(torch.diag_embed(s[:, : self.rank]), v[:, : self.rank]).to(self.dtype)  # [1, r, Hkv*d]
        self.SV = sv.view(self.batch_size, -1, self.num_key_value_heads, self.head_dim).transpose(1, 2)  # [1, Hkv, r, d]

    def prefill_kv_cache(self, key_states_roped):
        incoming = key_states_roped.shape[-2]
        self.chunks = incoming // self.chunk_size - self.local_chunk
        self.select_sets = self.sparse_budget // self.chunk_size
        assert self.select_sets * self.chunk_size == self.sparse_budget
        self.prefill_local = incoming - self.chunks * self.chunk_size
        ctx = key_states_roped[:, :, : self.chunks * self.chunk_size].view(
            self.batch_size, self.num_key_value_heads, self.chunks, self.chunk_size, self.head_dim)
        landmark_candidates = ctx.mean(dim=-2)  # [1, Hkv, C, d]
        cos_sim = torch.nn.functional.cosine_similarity(
            landmark_candidates.unsqueeze(3).expand(-1, -1, -1, self.chunk_size, -1), ctx, dim=-1)  # [1, Hkv, C, chunk]
        self.min_cos = cos_sim.min(dim=-1).values  # diagnostics only
        outlier_chunk_idx = self.min_cos.topk(self.outlier_chunk, largest=False).indices  # [1, Hkv, o]
        self.outlier_chunk_idx = outlier_chunk_idx
        all_idx = torch.arange(self.chunks).unsqueeze(0).unsqueeze(0).expand(self.batch_size, self.num_key_value_heads, -1)
        mask = torch.ones_like(all_idx, dtype=torch.bool)
        mask.scatter_(dim=-1, index=outlier_chunk_idx, value=False)
        rest_idx = all_idx.masked_select(mask).view(self.batch_size, self.num_key_value_heads, -1)
        landmarks = landmark_candidates.gather(dim=2, index=rest_idx.unsqueeze(-1).expand(-1, -1, -1, self.head_dim))
        self.register_k_landmark(landmarks.view(self.batch_size, self.num_key_value_heads, -1, self.head_dim), rest_idx)
        assert self.sparse_budget < incoming

    def register_k_landmark(self, k_landmark, k_landmark_idx):
        self.k_landmark = k_landmark.contiguous().to(self.dtype)
        self.k_landmark_idx = k_landmark_idx.contiguous()

    def chunk_scores(self, query_states):
        """The scores get_retrieval_position_ids ranks: [1, Hkv, C'] (and the pre-max ones)."""
        q_len = query_states.shape[-2]
        chunk_attn = torch.einsum(
            'bhgqd,bhdc->bhgqc',
            query_states.view(-1, self.num_key_value_heads, self.num_key_value_groups, q_len, self.head_dim),
            self.k_landmark.transpose(2, 3)).squeeze(2) / math.sqrt(128)
        chunk_attn = torch.nn.functional.softmax(chunk_attn, dim=-1, dtype=torch.float32).to(self.dtype)
        chunk_attn = chunk_attn.sum(dim=-2)
        if self.num_key_value_groups > 1:
            chunk_attn, _ = torch.max(chunk_attn, dim=-2)
        return chunk_attn

    def get_retrieval_position_ids(self, query_states):
        chunk_attn = self.chunk_scores(query_states)
        merged_results = torch.topk(chunk_attn, k=self.select_sets, dim=-1).indices  # [1, Hkv, select_sets]
        selected_chunks = self.k_landmark_idx.gather(dim=-1, index=merged_results)
        self.selected_chunk_idx = selected_chunks
        position_ids = (selected_chunks.unsqueeze(-1) * self.chunk_size
                        + torch.arange(self.chunk_size).view(1, 1, 1, -1)).view(self.batch_size, self.num_key_value_heads, -1)
        return position_ids


# ---------------------------------------------------------------------------------------------
# Test driver: random tensors with margins, then the port on them.

def f32_list(t):
    """A float32 tensor as nested lists of its values with 9 significant digits (round-trips
    float32 exactly; the default repr of the widened doubles would be twice as long)."""
    if t.dim() == 0:
        return float('%.9g' % t.item())
    return [f32_list(x) for x in t] if t.dim() > 1 else [float('%.9g' % v) for v in t.tolist()]

def low_rank_keys(gen, hkv, n, d, true_rank):
    """Pre-RoPE keys [1, Hkv, n, d] of rank `true_rank` plus 1e-3 noise, so the rank-r truncation
    (r = true_rank) has a wide singular gap and U @ SV is well conditioned."""
    a = torch.randn(n, true_rank, generator=gen)
    b = torch.randn(true_rank, hkv * d, generator=gen) / math.sqrt(true_rank)
    rows = a @ b + 1e-3 * torch.randn(n, hkv * d, generator=gen)
    return rows.view(1, n, hkv, d).transpose(1, 2).contiguous()


def score_bound(cache, q):
    """Relative bound (see the header) on how far another float32 evaluation moves a merged score."""
    qg = q.view(cache.num_key_value_heads, cache.num_key_value_groups, cache.head_dim).double()
    lm = cache.k_landmark[0].double()  # [Hkv, C', d]
    abs_sum = torch.einsum('hgd,hcd->hgc', qg.abs(), lm.abs()).max().item()
    delta = cache.head_dim * EPS32 * abs_sum / math.sqrt(128)
    return 2 * (math.expm1(2 * delta) + (lm.shape[1] + 8) * EPS32) + 1e-6


def make_case(name, hq, hkv, d, chunk, context_chunks, tail, outliers, sparse_budget, rank, steps, seed, theta=10000.0):
    s = context_chunks * chunk + 4 * chunk + tail
    n = s + steps
    positions = torch.arange(n)
    attempt = 0
    while True:  # keys: redraw until the outlier boundary is clear
        gen = torch.Generator().manual_seed(seed + 1000 * attempt)
        key_pre = low_rank_keys(gen, hkv, n, d, rank)
        key_post = neox_rope(key_pre, positions, theta)
        cache = ShadowKVCacheRef(hq, hkv, d, sparse_budget, chunk, rank, outliers)
        cache.get_svd(key_pre[:, :, :s])
        cache.prefill_kv_cache(key_post[:, :, :s])
        sorted_cos = cache.min_cos[0].sort(dim=-1).values
        outlier_gap = (sorted_cos[:, outliers] - sorted_cos[:, outliers - 1]).min().item()
        if outlier_gap >= 1e-4:
            break
        attempt += 1
    query_pre = torch.zeros(1, hq, n, d)  # only the decode queries are written (the prompt's do not select)
    decode = []
    for t in range(steps):  # each step's query: redraw until the top-k boundary is clear
        pos = s + t
        for redraw in range(1000):
            q_pre = 3.0 * torch.randn(1, hq, 1, d, generator=gen)
            q_post = neox_rope(q_pre, positions[pos:pos + 1], theta)
            scores = cache.chunk_scores(q_post)[0]  # [Hkv, C']
            top = scores.sort(dim=-1, descending=True).values
            k = cache.select_sets
            gap = ((top[:, k - 1] - top[:, k]) / top[:, k - 1]).min().item()
            need = score_bound(cache, q_post[0, :, 0])
            if gap > need:
                break
        else:
            raise RuntimeError(f"{name}: no query with a clear top-k boundary at step {t}")
        query_pre[:, :, pos] = q_pre[:, :, 0]
        cache.get_retrieval_position_ids(q_post)
        decode.append({"selected_chunks": cache.selected_chunk_idx[0].tolist(), "relative_gap": gap,
                       "required_gap": need, "redraws": redraw})
    query_post = neox_rope(query_pre, positions, theta)
    low_rank = torch.einsum('bsr,bhrd->bhsd', cache.U, cache.SV)  # [1, Hkv, S, d]
    return {
        "name": name, "num_heads": hq, "num_kv_heads": hkv, "head_dim": d, "chunk_size": chunk,
        "prompt_tokens": s, "steps": steps, "outlier_chunks": outliers, "sparse_budget": sparse_budget,
        "rank": rank, "rope_theta": theta, "key_redraws": attempt,
        "chunks": cache.chunks, "prefill_local": cache.prefill_local, "select_sets": cache.select_sets,
        "outlier_gap": outlier_gap,
        "key_pre_rope": f32_list(key_pre), "key": f32_list(key_post), "decode_query": f32_list(query_post[:, :, s:]),
        "outlier_ids": cache.outlier_chunk_idx[0].tolist(), "landmark_ids": cache.k_landmark_idx[0].tolist(),
        "landmarks": f32_list(cache.k_landmark[0]), "low_rank_keys": f32_list(low_rank[0]),
        "decode": decode,
    }


def main():
    out = sys.argv[1]
    base = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    torch.set_num_threads(1)
    cases = [
        # GQA 4, prompt = 8 * (60 + 4) + 5 (not a multiple of the chunk), 6 outliers, 12 of 54 chunks.
        make_case("gqa4", hq=8, hkv=2, d=128, chunk=8, context_chunks=60, tail=5, outliers=6, sparse_budget=96,
                  rank=160, steps=4, seed=base + 11),
        # GQA 3 (Llama-3.2-3B's group), the reference's 48 outliers, 20 of 52 chunks, prompt 8*104 + 3.
        make_case("gqa3", hq=6, hkv=2, d=128, chunk=8, context_chunks=100, tail=3, outliers=48, sparse_budget=160,
                  rank=96, steps=4, seed=base + 23),
    ]
    with open(out, "w") as f:
        json.dump({"cases": cases}, f)


if __name__ == "__main__":
    main()
