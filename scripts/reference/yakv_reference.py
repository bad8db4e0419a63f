# SPDX-License-Identifier: Apache-2.0
"""YAKV's landmarks (per-key, HIGGS-quantized) and decode-time token selection, ported from the
study's own code to CPU torch, for tests/methods/test_yakv_reference.cpp (acceptance 2 of issue 13).

Provenance (re-written to follow the reference's algorithm and order of operations; no code copied):
  repository  github.com/yandex-research/context-intensive-kv-offloading, commit 721b2d1 (2026-06-14)
  files       shadowkv-models/shadowkv_models/kv_cache.py  ShadowKVCache: __init__ (local_chunk =
                  local_budget / chunk, outlier_chunk = outlier_budget / chunk, quantizer set-up),
                  prefill_kv_cache (chunks, prefill_local, chunk-1 "outliers" = the first tokens,
                  landmarks = chunk means, rest_idx), register_k_landmark (the plain HIGGS path
                  and the residual one: meta-landmarks of meta_chunk_size, methods.md 1.7),
                  get_retrieval_position_ids (softmax per query head, max over the
                  group, top-k, landmark ids -> positions)
              shadowkv-models/shadowkv_models/quantization/higgs.py  ported in
                  scripts/reference/higgs_reference.py (its header lists what changed there)
              shadowkv-models/shadowkv_models/base.py  init_kv_cache (a float budget is
                  int(frac * S) // chunk * chunk tokens)
              run_cfg.py  the YAKV setting: chunk 1, rank -1, outlier 0, local 64, sparse 3.125 %,
                  landmarks HIGGS edenn_d 4 / edenn_n 256 with the default Hadamard group 128
What changed in the port:
  - CPU torch, float32 model dtype (the reference runs bfloat16 on CUDA; kvbench's CPU path is
    float32; in bfloat16 the softmax scores would tie massively); the .to(dtype) casts are kept;
  - the NVFP4 quantizer and the low-bit key/value formats are not ported (they do not select);
  - one layer, batch 1 (the class asserts batch 1); rank -1 only (no SVD, as YAKV runs); the key and
    value stores, the attention buffers, get_key_cache and get_value_cache are left out: they move
    rows but do not decide which positions are chosen;
  - diagnostics added (not in the reference): per decode step the relative gap at the top-k
    boundary and the bound it must exceed (see below); the landmark codes and scales.

Usage: yakv_reference.py OUT.json [base_seed]
Writes cases (GQA 3 with the study's landmark quantizer and no outliers; one KV head of 96 channels,
so the Hadamard group pads, with chunk-1 outliers and GQA 4; residual landmark quantization; exact
landmarks): the random tensors (pre- and post-RoPE keys [1, Hkv, S, d] of the prompt and post-RoPE
decode queries [1, Hq, steps, d]), the landmark codes and scales (plain path) or the parts' norms
(residual path), the dequantized landmarks, and per decode step the selected positions per KV head.

Margins (test helper, not part of the port). kvbench's HIGGS follows a float32 contract
(harness/kv/higgs.h: float64 evaluation rounded to float32 once); the reference's Hadamard runs in
float32 and its dequantize rounds to float16 before and after the inverse transform.
  Codes: y = H x / ||x|| differs between the two by <= g * 2^-24 * sum_i |x_i| / ||x|| <= g^1.5 2^-24
  per coordinate (g = 128: 8.7e-5), so a grid score 2 y.G_c - ||G_c||^2 moves by <= 2 D max|G| times
  that (code_margin doubles it for the two scores compared and adds 1e-4 for the scores' own
  rounding); landmark keys are redrawn token by token until every sub-vector's best and
  second-best grid scores are that far apart, and the codes equal those of the float32 evaluation,
  so both sides pick the same codes. Residual path: kvbench's dequantized meta-landmark differs from
  the float32 evaluation by <= 2 g 2^-24 ||meta_group|| per coordinate, so the residual's y moves by
  <= 2 g^2 2^-24 ||meta_group|| / ||residual_group|| more; every token of a meta group with an
  unclear meta or residual code is redrawn.
  Scores: with the same codes, the landmarks differ only by the reference's float16 roundings (and
  float32 summation order). The script evaluates the landmarks also without the float16 casts
  (a second cache whose quantizers skip them, kvbench's contract) and takes delta = the largest
  |logit difference| that causes plus the worst-case float32 terms d * 2^-24 * scale * sum|q L| + 3 g * 2^-24 * scale *
  sum|q| * max||L_group|| (dequantization in float32: <= 2 g eps ||group|| per coordinate, 3 with
  the residual path's two parts); a probability then moves by a factor within exp(+-2 delta), plus
  (n + 8) * 2^-24 relative from softmax. Each decode query is redrawn until, per KV head, the
  relative gap (p_k - p_(k+1)) / p_k exceeds 2 * (exp(2 delta) - 1 + (n + 8) * 2^-24) + 1e-6.
"""
import json
import math
import sys

import torch

from higgs_reference import HiggsQuantizer, pad_to_block

EPS32 = 2.0 ** -24


# ---------------------------------------------------------------------------------------------
# The port: kv_cache.py ShadowKVCache with rank -1.

class YakvCacheRef:
    def __init__(self, num_attention_heads, num_key_value_heads, head_dim, sparse_budget, chunk_size,
                 local_budget, outlier_budget, quantizer, residual_quantizer=None, meta_chunk_size=1,
                 dtype=torch.float32):
        self.num_key_value_groups = num_attention_heads // num_key_value_heads
        self.num_key_value_heads = num_key_value_heads
        self.head_dim = head_dim
        self.batch_size = 1
        self.dtype = dtype
        self.sparse_budget = int(sparse_budget)
        self.chunk_size = chunk_size
        assert local_budget % chunk_size == 0 and outlier_budget % chunk_size == 0
        self.local_chunk = local_budget // chunk_size
        self.outlier_chunk = outlier_budget // chunk_size
        self.quantizer = quantizer  # None: use_higgs_quantization False
        self.residual_quantizer = residual_quantizer  # None: use_residual_quantization False
        self.use_residual_quantization = residual_quantizer is not None
        self.meta_chunk_size = meta_chunk_size

    def register_k_landmark(self, k_landmark, k_landmark_idx):
        num_landmarks = k_landmark.shape[-2]
        if self.quantizer is not None and self.use_residual_quantization:
            remainder = num_landmarks % self.meta_chunk_size
            if remainder != 0:  # pad by repeating the last landmark
                pad = self.meta_chunk_size - remainder
                k_landmark = torch.cat([k_landmark, k_landmark[:, :, -1:, :].expand(-1, -1, pad, -1)], dim=2)
            num_padded = k_landmark.shape[2]
            num_meta = num_padded // self.meta_chunk_size
            meta = k_landmark.view(self.batch_size, self.num_key_value_heads, num_meta, self.meta_chunk_size,
                                   self.head_dim).mean(dim=-2)
            meta = meta.transpose(1, 2).reshape(-1, self.num_key_value_heads * self.head_dim)
            self.meta_codes, _ = self.quantizer.quantize(meta)  # diagnostics: the same call split
            meta = self.quantizer.quantize_dequantize(meta)
            meta = meta.reshape(self.batch_size, num_meta, self.num_key_value_heads, self.head_dim).transpose(1, 2)
            residual = k_landmark - meta.repeat_interleave(self.meta_chunk_size, dim=2)
            residual = residual.transpose(1, 2).reshape(-1, self.num_key_value_heads * self.head_dim)
            self.residual_codes, _ = self.residual_quantizer.quantize(residual)  # diagnostics
            self.residual_rows = residual  # diagnostics: the residual quantizer's input
            residual = self.residual_quantizer.quantize_dequantize(residual)
            self.meta_hat = meta  # diagnostics
            self.residual_hat = residual.reshape(self.batch_size, num_padded, self.num_key_value_heads,
                                                 self.head_dim).transpose(1, 2)  # diagnostics
            k_landmark = (self.residual_hat + meta.repeat_interleave(self.meta_chunk_size, dim=2))[:, :, :num_landmarks, :]
        elif self.quantizer is not None:  # the plain path (use_residual_quantization False, as run_cfg)
            rows = k_landmark.transpose(1, 2).reshape(-1, self.num_key_value_heads * self.head_dim)
            self.codes, self.scales = self.quantizer.quantize(rows)  # diagnostics: the same call split
            k_landmark = self.quantizer.quantize_dequantize(rows)
            k_landmark = k_landmark.reshape(self.batch_size, num_landmarks, self.num_key_value_heads,
                                            self.head_dim).transpose(1, 2)
        self.k_landmark = k_landmark.contiguous().to(self.dtype)
        self.k_landmark_idx = k_landmark_idx.contiguous()

    def prefill_kv_cache(self, key_states_roped):
        bsz, num_kv_heads, incoming = key_states_roped.shape[:3]
        self.chunks = incoming // self.chunk_size - self.local_chunk
        self.select_sets = self.sparse_budget // self.chunk_size
        assert self.select_sets * self.chunk_size == self.sparse_budget
        self.prefill_local = incoming - self.chunks * self.chunk_size
        ctx = key_states_roped[:, :, : self.chunks * self.chunk_size].view(
            self.batch_size, self.num_key_value_heads, self.chunks, self.chunk_size, self.head_dim)
        landmark_candidates = ctx.mean(dim=-2)
        if self.chunk_size > 1:
            cos_sim = torch.nn.functional.cosine_similarity(
                landmark_candidates.unsqueeze(3).expand(-1, -1, -1, self.chunk_size, -1), ctx, dim=-1)
            outlier_chunk_idx = cos_sim.min(dim=-1).values.topk(self.outlier_chunk, largest=False).indices
        else:  # chunk 1: the "outliers" are the first outlier_chunk tokens
            outlier_chunk_idx = torch.arange(self.outlier_chunk, dtype=torch.long).view(1, 1, -1).expand(
                bsz, num_kv_heads, -1)
        self.outlier_chunk_idx = outlier_chunk_idx
        all_idx = torch.arange(self.chunks).view(1, 1, -1).expand(self.batch_size, self.num_key_value_heads, -1)
        mask = torch.ones_like(all_idx, dtype=torch.bool)
        mask.scatter_(dim=-1, index=outlier_chunk_idx, value=False)
        rest_idx = all_idx.masked_select(mask).view(self.batch_size, self.num_key_value_heads, -1)
        landmarks = landmark_candidates.gather(dim=2, index=rest_idx.unsqueeze(-1).expand(-1, -1, -1, self.head_dim))
        self.register_k_landmark(landmarks.view(self.batch_size, self.num_key_value_heads, -1, self.head_dim), rest_idx)

    def chunk_logits(self, query_states, landmarks=None):
        q_len = query_states.shape[-2]
        lm = self.k_landmark if landmarks is None else landmarks
        return torch.einsum(
            'bhgqd,bhdc->bhgqc',
            query_states.view(-1, self.num_key_value_heads, self.num_key_value_groups, q_len, self.head_dim),
            lm.transpose(2, 3)).squeeze(2) / math.sqrt(self.head_dim)

    def chunk_scores(self, query_states):
        chunk_attn = self.chunk_logits(query_states)
        chunk_attn = torch.nn.functional.softmax(chunk_attn, dim=-1, dtype=torch.float32).to(self.dtype)
        chunk_attn = chunk_attn.sum(dim=-2)
        if self.num_key_value_groups > 1:
            chunk_attn, _ = torch.max(chunk_attn, dim=-2)
        return chunk_attn

    def get_retrieval_position_ids(self, query_states):
        chunk_attn = self.chunk_scores(query_states)
        merged_results = torch.topk(chunk_attn, k=self.select_sets, dim=-1).indices
        selected_chunks = self.k_landmark_idx.gather(dim=-1, index=merged_results)
        self.selected_chunk_idx = selected_chunks
        return (selected_chunks.unsqueeze(-1) * self.chunk_size
                + torch.arange(self.chunk_size).view(1, 1, 1, -1)).view(self.batch_size, self.num_key_value_heads, -1)


# ---------------------------------------------------------------------------------------------
# Test driver.

def f32_list(t):
    """Nested lists of float32 values with 9 significant digits (round-trips float32 exactly)."""
    return [f32_list(x) for x in t] if t.dim() > 1 else [float('%.9g' % v) for v in t.tolist()]


def neox_rope(x, positions, theta=10000.0):
    """The models' rotate-half RoPE (higgs.py / llama.py apply_rotary_pos_emb) in float32."""
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    freqs = positions.to(torch.float32)[:, None] * inv_freq[None, :]
    cos, sin = freqs.cos(), freqs.sin()
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


def min_code_gaps(quantizer, rows):
    """Per row of [m, C]: the smallest gap between a sub-vector's best and second-best grid score."""
    y, _ = quantizer.rotated(rows)
    top2 = quantizer.grid_scores(y).topk(2, dim=-1).values  # [m, mult, g/D, 2]
    return (top2[..., 0] - top2[..., 1]).flatten(1).min(dim=1).values


def group_norms(rows, group):
    """Per row of [m, C] and Hadamard group: ||x_group||, [m, C_pad / g]."""
    return pad_to_block(rows, [1], group).view(rows.shape[0], -1, group).norm(dim=-1)


def code_margin(quantizer, y_error):
    """Grid-score gap that covers a y error of y_error per coordinate on both sides (header: 'Codes'):
    a score 2 y.G_c - ||G_c||^2 moves by <= 2 D max|G| y_error, doubled for the two scores, plus
    1e-4 for the float32 rounding of the scores themselves."""
    return 2 * (2 * quantizer.edenn_d * quantizer.grid.abs().max().item() * y_error) + 1e-4


def bad_landmark_tokens(cache, cache_f32, landmarks, group):
    """Registers landmarks [1, Hkv, n, d] in both caches (the reference, and the same with float32
    dequantization) and flags the tokens whose codes could differ between the reference and kvbench
    (header: 'Codes'), [n] bool. Residual path: every token of a flagged meta group."""
    n = landmarks.shape[2]
    ids = torch.arange(n).view(1, 1, -1).expand(1, landmarks.shape[1], -1)
    cache.register_k_landmark(landmarks, ids)
    cache_f32.register_k_landmark(landmarks, ids)
    if cache.quantizer is None:
        return torch.zeros(n, dtype=torch.bool)
    rows = landmarks[0].transpose(0, 1).reshape(n, -1)
    if not cache.use_residual_quantization:
        min_gap = code_margin(cache.quantizer, group ** 1.5 * EPS32)
        return (min_code_gaps(cache.quantizer, rows) < min_gap) | (cache.codes != cache_f32.codes).flatten(1).any(1)
    m = cache.meta_chunk_size
    meta_rows = cache.meta_hat[0].transpose(0, 1).reshape(-1, rows.shape[1])  # only its shape and norms are used
    meta_bad = (cache.meta_codes != cache_f32.meta_codes).flatten(1).any(1)
    meta_in = torch.cat([rows, rows[-1:].expand((-n) % m, -1)]).view(-1, m, rows.shape[1]).mean(1)
    meta_bad |= min_code_gaps(cache.quantizer, meta_in) < code_margin(cache.quantizer, group ** 1.5 * EPS32)
    # Residual input: kvbench's meta dequantization differs from the float32 emulation's by
    # <= 2 g eps ||meta_group|| per coordinate, which moves y = H r / ||r|| by <= 2 g^2 eps
    # ||meta_group|| / ||r_group||; the grid score by 2 D max|G| times that (plus the g^1.5 eps term).
    g = group
    ratio = (group_norms(meta_rows, g).repeat_interleave(m, 0) / group_norms(cache.residual_rows, g)).max(1).values
    need = code_margin(cache.residual_quantizer, 2 * g * g * EPS32 * ratio + g ** 1.5 * EPS32)
    res_bad = min_code_gaps(cache.residual_quantizer, cache.residual_rows) < need
    res_bad |= (cache.residual_codes != cache_f32.residual_codes).flatten(1).any(1)
    group_bad = meta_bad | res_bad.view(-1, m).any(1)
    return group_bad.repeat_interleave(m)[:n]


def score_bound(cache, cache_f32, q, group):
    """Relative bound (see the header) on how far kvbench's evaluation moves a merged score."""
    qf = q.view(1, -1, 1, cache.head_dim)
    scale = 1 / math.sqrt(cache.head_dim)
    fp16_effect = (cache.chunk_logits(qf) - cache_f32.chunk_logits(qf)).abs().max().item()
    qg = q.view(cache.num_key_value_heads, cache.num_key_value_groups, cache.head_dim).double()
    lm = cache.k_landmark[0].double()  # [Hkv, n, d]
    abs_sum = torch.einsum('hgd,hcd->hgc', qg.abs(), lm.abs()).max().item()
    # Dequantized coordinates: float32 terms <= 2 g eps ||group|| (meta + residual: 3 g eps).
    norm = group_norms(lm.transpose(0, 1).reshape(lm.shape[1], -1), group).max().item()
    delta = fp16_effect + cache.head_dim * EPS32 * scale * abs_sum \
        + 3 * group * EPS32 * scale * qg.abs().sum(-1).max().item() * norm
    return 2 * (math.expm1(2 * delta) + (lm.shape[1] + 8) * EPS32) + 1e-6


def make_case(name, hq, hkv, d, s, local, outliers, sparse_fraction, steps, seed, quantized=True, group=128,
              residual_dim=None, meta_chunk=1):
    channels = hkv * d
    sparse_budget = int(sparse_fraction * s) // 1 * 1  # base.py init_kv_cache, chunk 1

    def make_cache(half):
        quantizer = HiggsQuantizer(group, 4, 256, channels, half) if quantized else None
        residual = HiggsQuantizer(group, residual_dim, 256, channels, half) if residual_dim else None
        return YakvCacheRef(hq, hkv, d, sparse_budget, 1, local, outliers, quantizer, residual, meta_chunk)

    cache, cache_f32 = make_cache(True), make_cache(False)
    gen = torch.Generator().manual_seed(seed)
    key_pre = torch.randn(1, hkv, s, d, generator=gen)
    positions = torch.arange(s + steps)
    n = s - local - outliers
    key_redraws = 0
    while True:  # redraw landmark tokens until their codes are clear (header: 'Codes')
        key_post = neox_rope(key_pre, positions[:s])
        bad = bad_landmark_tokens(cache, cache_f32, key_post[:, :, outliers:outliers + n], group)
        if not bad.any():
            break
        todo = outliers + bad.nonzero().flatten()
        key_pre[:, :, todo] = torch.randn(1, hkv, todo.numel(), d, generator=gen)
        key_redraws += todo.numel()
        assert key_redraws < 100 * s, f"{name}: landmark codes keep tying"
    cache.prefill_kv_cache(key_post)
    cache_f32.prefill_kv_cache(key_post)
    decode, queries = [], []
    for t in range(steps):
        pos = s + t
        for redraw in range(1000):
            q_pre = 3.0 * torch.randn(1, hq, 1, d, generator=gen)
            q_post = neox_rope(q_pre, positions[pos:pos + 1])
            top = cache.chunk_scores(q_post)[0].sort(dim=-1, descending=True).values
            k = cache.select_sets
            gap = ((top[:, k - 1] - top[:, k]) / top[:, k - 1]).min().item()
            need = score_bound(cache, cache_f32, q_post[0, :, 0], group)
            if gap > need:
                break
        else:
            raise RuntimeError(f"{name}: no query with a clear top-k boundary at step {t}")
        queries.append(q_post)
        cache.get_retrieval_position_ids(q_post)
        decode.append({"selected": cache.selected_chunk_idx[0].tolist(), "relative_gap": gap,
                       "required_gap": need, "redraws": redraw})
    case = {
        "name": name, "num_heads": hq, "num_kv_heads": hkv, "head_dim": d, "prompt_tokens": s, "steps": steps,
        "local_budget": local, "outlier_budget": outliers, "sparse_fraction": sparse_fraction,
        "sparse_budget": sparse_budget, "landmark_group": group, "quantized": quantized,
        "residual_grid_dim": residual_dim or 0, "meta_chunk_size": meta_chunk,
        "key_redraws": key_redraws, "chunks": cache.chunks, "prefill_local": cache.prefill_local,
        "select_sets": cache.select_sets, "landmark_ids": cache.k_landmark_idx[0].tolist(),
        "key_pre_rope": f32_list(key_pre), "key": f32_list(key_post), "decode_query": f32_list(torch.cat(queries, dim=2)),
        "landmarks": f32_list(cache.k_landmark[0]), "decode": decode,
    }
    if quantized and not residual_dim:
        case["codes"] = cache.codes.flatten(1).tolist()
        case["scales"] = f32_list(cache.scales)
    if residual_dim:
        # Per landmark row and Hadamard group: ||meta_group|| + ||residual_group|| of the
        # dequantized parts (the float16 roundings of both add up), [n, C_pad / g].
        meta_rows = cache.meta_hat[0].transpose(0, 1).reshape(-1, channels).repeat_interleave(meta_chunk, 0)
        res_rows = cache.residual_hat[0].transpose(0, 1).reshape(-1, channels)
        case["part_norms"] = f32_list((group_norms(meta_rows, group) + group_norms(res_rows, group))[:n])
    return case


def main():
    out = sys.argv[1]
    base = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    torch.set_num_threads(1)
    cases = [
        # The study's setting (run_cfg.py) at a small size: 2-bit HIGGS landmarks over Hkv*d = 128
        # channels (one Hadamard group), local 64, no outliers, 6.25 % of an odd prompt, GQA 3.
        make_case("study_gqa3", hq=6, hkv=2, d=64, s=517, local=64, outliers=0, sparse_fraction=0.0625, steps=4,
                  seed=base + 5),
        # One KV head of 96 channels (the Hadamard group of 128 pads), 16 chunk-1 outliers, GQA 4.
        make_case("padded_outliers_gqa4", hq=4, hkv=1, d=96, s=389, local=32, outliers=16, sparse_fraction=0.1,
                  steps=4, seed=base + 17),
        # Residual landmark quantization (methods.md 1.7): meta-landmarks of 4 (301 landmarks: the
        # last group padded), main and residual grids D4 (kvbench's residual default; the reference's
        # D16 grid is not shipped), Hadamard group 32 (2 groups), GQA 2.
        make_case("residual_gqa2", hq=4, hkv=2, d=32, s=365, local=64, outliers=0, sparse_fraction=0.08, steps=3,
                  seed=base + 41, group=32, residual_dim=4, meta_chunk=4),
        # Exact landmarks (use_higgs_quantization False), GQA 2.
        make_case("exact_gqa2", hq=4, hkv=2, d=64, s=300, local=64, outliers=8, sparse_fraction=0.05, steps=3,
                  seed=base + 29, quantized=False),
    ]
    with open(out, "w") as f:
        json.dump({"cases": cases}, f)


if __name__ == "__main__":
    main()
