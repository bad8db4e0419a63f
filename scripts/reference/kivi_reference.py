# SPDX-License-Identifier: Apache-2.0
"""KIVI's reference quantization and decode-time cache handling, ported to pure PyTorch for
tests/methods/test_kivi_reference.cpp (KIVI is not on PyPI).

Provenance: jy-yuan/KIVI at commit 876b4d2d08e3b1d5f70d0969c299d8c7c42ddfb6 (MIT License).
- quant/new_pack.py: quant_and_pack_kcache, quant_and_pack_vcache, unpack_and_dequant_kcache,
  unpack_and_dequant_vcache, pack_tensor, unpack_tensor (the reference's pure-PyTorch functions,
  not its Triton/CUDA ones).
- models/llama_kivi.py: LlamaFlashAttention_KIVI.forward, the cache bookkeeping (prefill split,
  decode attention over quantized + full-precision rows, the key flush when the residual reaches
  residual_length, the value flush of the oldest row when it exceeds it).
Re-written from the algorithm (same order of operations), not pasted. What changed:
- the model's Triton quantizer triton_quantize_and_pack_along_last_dim (keys transposed to
  [B, H, d, T]) is replaced by the pure-PyTorch quant_and_pack_kcache on [B, H, T, d]: the same
  min/max/scale/round arithmetic per (channel, token group); its codes are packed along the
  tokens as [B, H, T * bits / 32, d] instead of the transposed [B, H, d, T * bits / 32];
- the CUDA gemv cuda_bmm_fA_qB_outer (query x dequantized keys, probabilities x dequantized
  values) is replaced by dequantizing with unpack_and_dequant_* and a torch.matmul, with K/V
  repeated over the GQA group as repeat_kv does; the prefill's flash attention by a plain causal
  softmax attention; everything stays in the inputs' dtype (fp32 here) where the reference casts
  codes to fp16 (its caches are fp16);
- constant groups (scale 0) are not handled here either: the reference divides 0 by 0 there; the
  random inputs of the test have none.

Usage: kivi_reference.py IN.json OUT.json
IN (written by the C++ test): key_bits, value_bits, group_size, residual_length, prompt_len, and
tensors q [1, Hq, S, d], k and v [1, Hkv, S, d] (nested lists). The prompt's first prompt_len tokens
are prefilled at once, then every further token is one decode step.
OUT: prefill_output [1, Hq, prompt_len, d], decode_outputs [steps][1, Hq, 1, d], quantized_rows
[1 + steps][quantized key rows, quantized value rows] after the prefill and each step, the final cache:
key_codes [1, Hkv, Tq * bits / 32, d] (int32), key_scale, key_zero [1, Hkv, Tq / g, d], key_full_rows,
value_codes [1, Hkv, Nv, d * bits / 32], value_scale, value_zero [1, Hkv, Nv, d / g], value_full_rows.
"""
import json
import math
import sys

import torch


# --- quant/new_pack.py ---------------------------------------------------------------------------

def pack_tensor(data, bits, pack_dim):
    """int32 codes in [0, 2^bits) -> words of 32 / bits codes along pack_dim, code j at bits j * bits."""
    shape = data.shape
    feat_per_int = 32 // bits
    assert bits in (2, 4, 8)
    assert shape[pack_dim] % feat_per_int == 0
    code = torch.zeros(shape[:pack_dim] + (shape[pack_dim] // feat_per_int,) + shape[pack_dim + 1:],
                       dtype=torch.int32, device=data.device)
    unpacked_index = [slice(None)] * len(shape)
    packed_index = [slice(None)] * len(shape)
    first = 0
    for word in range(code.shape[pack_dim]):
        packed_index[pack_dim] = word
        for j in range(first, first + feat_per_int):
            unpacked_index[pack_dim] = j
            code[tuple(packed_index)] |= data[tuple(unpacked_index)] << (bits * (j - first))
        first += feat_per_int
    return code


def unpack_tensor(words, bits, pack_dim):
    """Inverse of pack_tensor (pack_dim 2 or 3), as int16 codes."""
    assert bits in (2, 4, 8)
    shape = words.shape
    feat_per_int = 32 // bits
    new_shape = shape[:pack_dim] + (shape[pack_dim] * feat_per_int,) + shape[pack_dim + 1:]
    word_of = torch.arange(new_shape[pack_dim], device=words.device) // feat_per_int
    slot_of = torch.arange(new_shape[pack_dim], device=words.device) % feat_per_int
    mask = 0xFF >> (8 - bits)
    index = [slice(None)] * len(new_shape)
    index[pack_dim] = word_of
    if pack_dim == 2:
        return ((words[tuple(index)] >> (slot_of * bits)[None, None, :, None]).to(torch.int16)) & mask
    if pack_dim == 3:
        return ((words[tuple(index)] >> (slot_of * bits)).to(torch.int16)) & mask
    raise NotImplementedError(pack_dim)


def quant_and_pack_kcache(k, group_size, bits):
    """Keys [B, H, T, D]: per channel, groups of group_size tokens -> codes [B, H, T*bits/32, D],
    scale and zero (the group minimum) [B, H, T / group_size, 1, D]."""
    assert k.dim() == 4
    shape = k.shape
    b, nh, t, d = shape
    assert t % group_size == 0
    max_int = 2 ** bits - 1
    data = k.view(b, nh, t // group_size, group_size, d)
    mn = torch.min(data, dim=-2, keepdim=True)[0]
    mx = torch.max(data, dim=-2, keepdim=True)[0]
    scale = (mx - mn) / max_int
    data = data - mn
    data.div_(scale)
    data = data.clamp_(0, max_int).round_().to(torch.int32)
    return pack_tensor(data.view(shape), bits, pack_dim=2), scale, mn


def quant_and_pack_vcache(v, group_size, bits):
    """Values [B, H, T, D]: per token, groups of group_size channels -> codes [B, H, T, D*bits/32],
    scale and zero [B, H, T, D / group_size, 1]."""
    shape = v.shape
    assert v.dim() == 4 and shape[-1] % group_size == 0
    max_int = 2 ** bits - 1
    data = v.view(shape[:-1] + (shape[-1] // group_size, group_size))
    mn = torch.min(data, dim=-1, keepdim=True)[0]
    mx = torch.max(data, dim=-1, keepdim=True)[0]
    scale = (mx - mn) / max_int
    data = data - mn
    data.div_(scale)
    data = data.clamp_(0, max_int).round_().to(torch.int32)
    return pack_tensor(data.view(shape), bits, pack_dim=3), scale, mn


def unpack_and_dequant_kcache(k_code, scale, mn, group_size, bits):
    data = unpack_tensor(k_code, bits, pack_dim=2)
    shape = data.shape
    data = data.view(shape[:2] + (shape[2] // group_size, group_size) + shape[3:])
    data = data.to(scale.dtype)  # the reference: float16
    data = data * scale + mn
    return data.view(shape)


def unpack_and_dequant_vcache(v_code, scale, mn, group_size, bits):
    data = unpack_tensor(v_code, bits, pack_dim=3)
    shape = data.shape
    data = data.view(shape[:-1] + (shape[-1] // group_size, group_size))
    data = data.to(scale.dtype)  # the reference: float16
    data = data * scale + mn
    return data.view(shape)


# --- models/llama_kivi.py (LlamaFlashAttention_KIVI.forward, cache handling) ------------------------

def repeat_kv(x, groups):
    return x if groups == 1 else x.repeat_interleave(groups, dim=1)


def cat_or_new(old, new, dim):
    return new if old is None else torch.cat([old, new], dim=dim)


class KiviLayerCache:
    """The reference's per-layer past_key_value tuple, with its quantization in pure PyTorch."""

    def __init__(self, key_bits, value_bits, group_size, residual_length):
        self.key_bits, self.value_bits = key_bits, value_bits
        self.group_size, self.residual_length = group_size, residual_length
        self.key_codes = self.key_scale = self.key_mn = self.key_full = None
        self.value_codes = self.value_scale = self.value_mn = self.value_full = None

    def prefill(self, q, k, v):
        """Exact causal attention over the prompt, then the prompt split into quantized + full rows."""
        groups = q.shape[1] // k.shape[1]
        t, r = k.shape[2], self.residual_length
        logits = torch.matmul(q, repeat_kv(k, groups).transpose(2, 3)) / math.sqrt(q.shape[-1])
        causal = torch.ones(t, t, dtype=torch.bool).triu(1)
        probs = torch.softmax(logits.masked_fill(causal, float("-inf")), dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, repeat_kv(v, groups))
        if t % r != 0:
            if t < r:
                key_quant, self.key_full = None, k
            else:
                key_quant = k[:, :, :-(t % r), :].contiguous()
                self.key_full = k[:, :, -(t % r):, :].contiguous()
        else:
            key_quant, self.key_full = k, None
        if key_quant is not None:
            self.key_codes, self.key_scale, self.key_mn = quant_and_pack_kcache(key_quant, self.group_size,
                                                                                self.key_bits)
        if t <= r:
            self.value_full = v
        else:
            self.value_full = v[:, :, -r:, :].contiguous()
            self.value_codes, self.value_scale, self.value_mn = quant_and_pack_vcache(
                v[:, :, :-r, :].contiguous(), self.group_size, self.value_bits)
        return out

    def decode(self, q, k, v):
        """One new token: scores over dequantized + full keys, flush keys at residual_length, softmax,
        output over dequantized + full values, flush the oldest full value past residual_length."""
        groups = q.shape[1] // k.shape[1]
        scores_quant = None
        if self.key_codes is not None:
            keys = unpack_and_dequant_kcache(self.key_codes, self.key_scale, self.key_mn, self.group_size,
                                             self.key_bits)
            scores_quant = torch.matmul(q, repeat_kv(keys, groups).transpose(2, 3))
        self.key_full = cat_or_new(self.key_full, k, 2)
        scores_full = torch.matmul(q, repeat_kv(self.key_full, groups).transpose(2, 3))
        scores = scores_full if scores_quant is None else torch.cat([scores_quant, scores_full], dim=-1)
        scores = scores / math.sqrt(q.shape[-1])
        if self.key_full.shape[-2] == self.residual_length:
            assert self.residual_length % self.group_size == 0
            codes, scale, mn = quant_and_pack_kcache(self.key_full.contiguous(), self.group_size, self.key_bits)
            self.key_full = None
            self.key_codes = cat_or_new(self.key_codes, codes, 2)
            self.key_scale = cat_or_new(self.key_scale, scale, 2)
            self.key_mn = cat_or_new(self.key_mn, mn, 2)
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        self.value_full = torch.cat([self.value_full, v], dim=2)
        full_rows = self.value_full.shape[-2]
        if self.value_codes is None:
            out = torch.matmul(probs, repeat_kv(self.value_full, groups))
        else:
            values = unpack_and_dequant_vcache(self.value_codes, self.value_scale, self.value_mn, self.group_size,
                                               self.value_bits)
            out = torch.matmul(probs[:, :, :, :-full_rows], repeat_kv(values, groups))
            out += torch.matmul(probs[:, :, :, -full_rows:], repeat_kv(self.value_full, groups))
        if full_rows > self.residual_length:
            assert full_rows == self.residual_length + 1
            codes, scale, mn = quant_and_pack_vcache(self.value_full[:, :, :1, :].contiguous(), self.group_size,
                                                     self.value_bits)
            self.value_full = self.value_full[:, :, 1:, :].contiguous()
            self.value_codes = cat_or_new(self.value_codes, codes, 2)
            self.value_scale = cat_or_new(self.value_scale, scale, 2)
            self.value_mn = cat_or_new(self.value_mn, mn, 2)
        return out


def as_list(t):
    return None if t is None else t.tolist()


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: kivi_reference.py IN.json OUT.json")
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    q = torch.tensor(cfg["q"], dtype=torch.float32)
    k = torch.tensor(cfg["k"], dtype=torch.float32)
    v = torch.tensor(cfg["v"], dtype=torch.float32)
    prompt = cfg["prompt_len"]
    cache = KiviLayerCache(cfg["key_bits"], cfg["value_bits"], cfg["group_size"], cfg["residual_length"])
    out = {"prefill_output": cache.prefill(q[:, :, :prompt], k[:, :, :prompt], v[:, :, :prompt]).tolist()}
    counts = lambda: [0 if cache.key_codes is None else cache.key_codes.shape[2] * 32 // cache.key_bits,
                      0 if cache.value_codes is None else cache.value_codes.shape[2]]
    out["quantized_rows"] = [counts()]
    out["decode_outputs"] = []
    for p in range(prompt, q.shape[2]):
        out["decode_outputs"].append(cache.decode(q[:, :, p:p + 1], k[:, :, p:p + 1], v[:, :, p:p + 1]).tolist())
        out["quantized_rows"].append(counts())
    squeeze = lambda t, dim: None if t is None else t.squeeze(dim)
    out.update({
        "key_codes": as_list(cache.key_codes),
        "key_scale": as_list(squeeze(cache.key_scale, 3)),
        "key_zero": as_list(squeeze(cache.key_mn, 3)),
        "key_full_rows": 0 if cache.key_full is None else cache.key_full.shape[2],
        "value_codes": as_list(cache.value_codes),
        "value_scale": as_list(squeeze(cache.value_scale, -1)),
        "value_zero": as_list(squeeze(cache.value_mn, -1)),
        "value_full_rows": cache.value_full.shape[2],
    })
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
