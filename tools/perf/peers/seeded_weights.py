"""NumPy port of onnx/weights.mjs `initWeights(seed)`: the very same seeded encoder weights as the ONNX
export, without shipping the 100 MB safetensors file (e.g. to the GPU machine).

mulberry32's state after k calls is a0 + k * 0x6d2b79f5 (mod 2^32), so a whole tensor's stream is computed
at once with uint64 arithmetic. Uniform values are bit-identical to the JS ones; normal values (Box-Muller)
use libm log/cos/sin, which may differ from V8's in the last float64 ulp, hence almost always identical
float32 values (checked by `python3 seeded_weights.py --check .cache/encoder.safetensors`).
"""
import json
import re
import struct
import sys

import numpy as np

ENCODER = dict(vocab=30522, max_len=8192, d=384, heads=6, ffn=1536, layers=6, out=768)
EXPECTED_PARAMS = 25_958_016
M32 = np.uint64(0xFFFFFFFF)


def encoder_spec(vocab=30522, max_len=8192, d=384, ffn=1536, layers=6, out=768, **_):
    spec = [("token_emb.weight", (vocab, d)), ("pos_emb.weight", (max_len, d))]
    for i in range(layers):
        p = f"layers.{i}."
        spec += [
            (p + "self_attn.in_proj_weight", (3 * d, d)),
            (p + "self_attn.in_proj_bias", (3 * d,)),
            (p + "self_attn.out_proj.weight", (d, d)),
            (p + "self_attn.out_proj.bias", (d,)),
            (p + "linear1.weight", (ffn, d)),
            (p + "linear1.bias", (ffn,)),
            (p + "linear2.weight", (d, ffn)),
            (p + "linear2.bias", (d,)),
            (p + "norm1.weight", (d,)),
            (p + "norm1.bias", (d,)),
            (p + "norm2.weight", (d,)),
            (p + "norm2.bias", (d,)),
        ]
    spec += [
        ("norm.weight", (d,)),
        ("norm.bias", (d,)),
        ("head.0.weight", (d, d)),
        ("head.0.bias", (d,)),
        ("head.2.weight", (d,)),
        ("head.2.bias", (d,)),
        ("head.3.weight", (out, d)),
        ("head.3.bias", (out,)),
    ]
    return spec


def hash32(name, seed):
    h = (0x811C9DC5 ^ seed) & 0xFFFFFFFF
    for ch in name:
        h ^= ord(ch)
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def _imul(x, y):
    return (x * y) & M32


def mulberry32_stream(a0, n):
    """The first n outputs of JS mulberry32(a0), as float64 in [0, 1)."""
    k = np.arange(1, n + 1, dtype=np.uint64)
    t = (np.uint64(a0) + k * np.uint64(0x6D2B79F5)) & M32
    t = _imul(t ^ (t >> np.uint64(15)), t | np.uint64(1))
    t = t ^ ((t + _imul(t ^ (t >> np.uint64(7)), t | np.uint64(61))) & M32)
    return (t ^ (t >> np.uint64(14))).astype(np.float64) / 4294967296.0


def _uniform(rand, lo, hi):
    return (lo + (hi - lo) * rand).astype(np.float32)


def _normal(rand, n, mean, std):
    u1 = rand[0::2].copy()
    u1[u1 == 0] = 1e-12
    u2 = rand[1::2]
    r = np.sqrt(-2 * np.log(u1))
    out = np.empty(2 * len(u1), dtype=np.float64)
    out[0::2] = mean + std * r * np.cos(2 * np.pi * u2)
    out[1::2] = mean + std * r * np.sin(2 * np.pi * u2)
    return out[:n].astype(np.float32)


def init_weights(seed=0, cfg=ENCODER):
    """dict name -> float32 array (PyTorch layout), identical to onnx/weights.mjs initWeights(seed)."""
    w = {}
    for name, shape in encoder_spec(**cfg):
        n = int(np.prod(shape))
        a0 = hash32(name, seed)
        if name.endswith("_emb.weight"):
            arr = _normal(mulberry32_stream(a0, n + (n % 2)), n, 0.0, 0.02)
        elif re.search(r"norm\d?\.(weight|bias)$", name) or name.startswith("head.2."):
            r = mulberry32_stream(a0, n)
            arr = _uniform(r, 0.9, 1.1) if name.endswith("weight") else _uniform(r, -0.1, 0.1)
        else:
            fan_in = (cfg["ffn"] if name.endswith("linear2.bias") else cfg["d"]) if name.endswith("bias") else shape[-1]
            b = 1 / np.sqrt(fan_in)
            arr = _uniform(mulberry32_stream(a0, n), -b, b)
        w[name] = arr.reshape(shape)
    return w


def read_safetensors_f32(path):
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n).decode("utf-8"))
        data = fh.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
    return out


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        ref = read_safetensors_f32(sys.argv[2])
        w = init_weights(0)
        worst, mismatched = 0.0, 0
        for name, arr in w.items():
            d = np.abs(arr.astype(np.float64) - ref[name].astype(np.float64))
            worst = max(worst, float(d.max()))
            mismatched += int((arr != ref[name]).sum())
        total = sum(a.size for a in w.values())
        print(json.dumps({"params": total, "expected": EXPECTED_PARAMS, "max_abs_diff": worst, "values_not_bit_identical": mismatched}))
        sys.exit(0 if total == EXPECTED_PARAMS and worst < 1e-6 else 1)
    print("usage: python3 seeded_weights.py --check encoder.safetensors  (written by onnx/export-encoder.mjs --seed 0)")
