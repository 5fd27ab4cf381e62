#!/usr/bin/env python3
"""NumPy reference of the CaptionBERT-shaped encoder (float64), for checking the exported ONNX model.

Same architecture as tools/perf/peers/torch_reference.py and onnx/export-encoder.mjs:
  x = token_emb[ids] + pos_emb[:L]
  6 x pre-norm nn.TransformerEncoderLayer(d=384, nhead=6, ffn=1536, gelu(erf), LN eps 1e-5),
      key-padding mask from attention_mask (1 = real token)
  final LayerNorm, masked mean pooling sum(x*m)/max(sum(m),1),
  head: Linear(384,384) -> GELU -> LayerNorm -> Linear(384,768), then x / max(||x||, 1e-12).

Weights come from a safetensors file with PyTorch names and layout (Linear weight [out, in]).

Usage:
  python3 numpy_reference.py --weights W.safetensors --case CASE.json [--tol 1e-4] [--out REF.json]
CASE.json: {"input_ids": [[...]], "attention_mask": [[...]], "embedding": [[...]] (optional: output to compare)}.
Prints one JSON line {max_abs_diff, ..., ok}; exit status 1 when the comparison fails.
Needs only numpy (and scipy.special.erf when available; math.erf otherwise).
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

try:
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover
    _erf = np.vectorize(math.erf)

D, HEADS, LAYERS, EPS = 384, 6, 6, 1e-5

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n).decode("utf-8"))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            b, e = info["data_offsets"]
            fh.seek(base + b)
            raw = fh.read(e - b)
            if info["dtype"] == "BF16":
                arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                arr = np.frombuffer(raw, dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<"))
            out[name] = arr.reshape(info["shape"]).astype(np.float64)
        return out


def layer_norm(x, w, b, eps=EPS):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def linear(x, W, b):
    return x @ W.T + b


def encode(w, ids, mask):
    ids = np.asarray(ids, dtype=np.int64)
    mask = np.asarray(mask, dtype=np.float64)
    B, L = ids.shape
    dh = D // HEADS
    x = w["token_emb.weight"][ids] + w["pos_emb.weight"][:L][None]
    pad = mask[:, None, None, :] == 0  # [B,1,1,L] True where the key is padding
    for i in range(LAYERS):
        p = f"layers.{i}."
        h = layer_norm(x, w[p + "norm1.weight"], w[p + "norm1.bias"])
        qkv = linear(h, w[p + "self_attn.in_proj_weight"], w[p + "self_attn.in_proj_bias"])
        q, k, v = np.split(qkv, 3, axis=-1)
        q, k, v = (t.reshape(B, L, HEADS, dh).transpose(0, 2, 1, 3) for t in (q, k, v))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)
        s = np.where(pad, -np.inf, s)
        s = s - s.max(-1, keepdims=True)
        pr = np.exp(s)
        pr = pr / pr.sum(-1, keepdims=True)
        ctx = (pr @ v).transpose(0, 2, 1, 3).reshape(B, L, D)
        x = x + linear(ctx, w[p + "self_attn.out_proj.weight"], w[p + "self_attn.out_proj.bias"])
        h = layer_norm(x, w[p + "norm2.weight"], w[p + "norm2.bias"])
        x = x + linear(gelu(linear(h, w[p + "linear1.weight"], w[p + "linear1.bias"])), w[p + "linear2.weight"], w[p + "linear2.bias"])
    x = layer_norm(x, w["norm.weight"], w["norm.bias"])
    m = mask[:, :, None]
    pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1.0)
    y = linear(pooled, w["head.0.weight"], w["head.0.bias"])
    y = layer_norm(gelu(y), w["head.2.weight"], w["head.2.bias"])
    y = linear(y, w["head.3.weight"], w["head.3.bias"])
    return y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-12)


def count_params(w):
    return int(sum(a.size for a in w.values()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--out", help="write the reference embedding (JSON) here")
    a = ap.parse_args()
    w = read_safetensors(a.weights)
    with open(a.case) as fh:
        case = json.load(fh)
    ref = encode(w, case["input_ids"], case["attention_mask"])
    result = {"shape": list(ref.shape), "params": count_params(w), "tol": a.tol}
    if a.out:
        tmp = a.out + f".tmp-{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump({"embedding": ref.tolist()}, fh)
        os.replace(tmp, a.out)
    ok = True
    if "embedding" in case:
        got = np.asarray(case["embedding"], dtype=np.float64)
        if got.shape != ref.shape:
            result.update(ok=False, error=f"shape {list(got.shape)} != {list(ref.shape)}")
            ok = False
        else:
            diff = np.abs(got - ref)
            cos = (got * ref).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(ref, axis=-1))
            result.update(
                max_abs_diff=float(diff.max()),
                mean_abs_diff=float(diff.mean()),
                min_cosine=float(cos.min()),
                ok=bool(diff.max() <= a.tol),
            )
            ok = result["ok"]
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
