#!/usr/bin/env python3
"""PyTorch eager fp32 reference for BENCHMARKS.md (issue 6): the peer the tfjs webgpu rows are measured against.

Runs on the GPU machine (PyTorch + CUDA, no network). fp32 with TF32 off, eager (no torch.compile), seeded.
Each case: warm-up, then the median of >= 20 iterations (--quick: 3), each timed with CUDA events and a
synchronize at its end (so per-step launch overhead counts, as it does for an eager training loop).

Cases
  encoder_infer      CaptionBERT-shaped encoder (below), torch.no_grad, eval; batch 64/256 x length 32/128,
                     every token real, ids uniform in [1, 30522); sentences/s = batch / median.
  encoder_train      one training step at batch 128/256, length 32: MSE between the L2-normalised output and a
                     fixed random unit target [B, 768], backward, AdamW(lr=1e-4, weight_decay=0.01).step(),
                     zero_grad(set_to_none=True); ms/step.
  small_train        the "small transformer" of ARCHITECTURE.md (same encoder, 2 layers), batch 128, length 32,
                     Adam(lr=1e-4), same loss; ms/step (ARCHITECTURE.md quotes 6.9 ms on an H100).
  small_infer        that model's inference at batch 128, length 32 (ARCHITECTURE.md quotes 71k sentences/s).
  vit_train          ViT on 32x32x3 images: Conv2d patch 4 -> 64 tokens, learned pos-emb, 6 of the same
                     pre-norm layers, final LN, mean pool, Linear(384, 10); cross-entropy on random labels,
                     AdamW(lr=1e-4, weight_decay=0.01); batch 128/256; ms/step.
  pentachoron_cv     1e5 points on the unit sphere in R^128 (float32, made once, outside the timing); timed:
                     1000 random 5-point subsets (distinct points), float64 Cayley-Menger determinants of the
                     6x6 bordered squared-distance matrices (batched torch.linalg.det), 4-volumes
                     V = sqrt(max(-det/9216, 0)), CV = std/mean (unbiased std), ending with .item(); ms.
  gpa_768            3 random float32 matrices [4096, 768] already on the GPU; timed: cast to float64, centre,
                     scale to unit Frobenius norm, then 10 iterations of generalized Procrustes (M = mean of the
                     X_i; for each i: U S V^T = svd(X_i^T M), X_i <- X_i U V^T; the 3 SVDs batched), ending
                     with .item() of the residual; ms.
  matmul_8192        fp32 8192^3 matmul TFLOP/s (peak for the "fraction of peak" column; ARCHITECTURE.md: 51.9).

Model (names = state_dict keys, the same as onnx/export-encoder.mjs and the numpy reference):
  token_emb 30522x384, pos_emb 8192x384, x = tok[ids] + pos[:L];
  layers.{i} = nn.TransformerEncoderLayer(384, 6, 1536, dropout=0.0, activation='gelu', batch_first=True,
  norm_first=True), key-padding mask from attention_mask (1 = real); norm = LayerNorm(384);
  masked mean pooling sum(x*m)/max(sum(m), 1); head = Linear(384,384), GELU, LayerNorm(384), Linear(384,768);
  F.normalize (x / max(||x||, 1e-12)). 25,958,016 parameters (checked).

Usage
  python3 torch_reference.py [--out ../../../results/perf/peers/torch-h100.json] [--quick] [--only encoder_infer,gpa_768]
                             [--device cuda] [--seed 0] [--iters 20] [--warmup 5]
  python3 torch_reference.py --parity .cache/parity   # encoder on the weights of onnx/export-encoder.mjs
                                                      # --seed 0 (seeded_weights.py) vs the ORT outputs
Writes JSON (tmp + os.replace) with every number, torch/CUDA versions, GPU name and date; prints a Markdown table.
"""
import argparse
import datetime
import glob
import json
import math
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED_PARAMS = 25_958_016


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------------------------- models
def _layer(d, heads, ffn):
    return nn.TransformerEncoderLayer(
        d_model=d, nhead=heads, dim_feedforward=ffn, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    )


class Encoder(nn.Module):
    def __init__(self, vocab=30522, max_len=8192, d=384, heads=6, ffn=1536, layers=6, out=768):
        super().__init__()
        self.token_emb = nn.Embedding(vocab, d)
        self.pos_emb = nn.Embedding(max_len, d)
        self.layers = nn.ModuleList([_layer(d, heads, ffn) for _ in range(layers)])
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.LayerNorm(d, eps=1e-5), nn.Linear(d, out))

    def forward(self, ids, mask):
        L = ids.shape[1]
        x = self.token_emb(ids) + self.pos_emb.weight[:L]
        pad = mask == 0  # True = padding key
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=pad)
        x = self.norm(x)
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1).clamp_min(1.0)
        return F.normalize(self.head(pooled), dim=-1, eps=1e-12)


class ViT(nn.Module):
    def __init__(self, img=32, patch=4, d=384, heads=6, ffn=1536, layers=6, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(3, d, kernel_size=patch, stride=patch)
        self.pos_emb = nn.Parameter(torch.randn(1, (img // patch) ** 2, d) * 0.02)
        self.layers = nn.ModuleList([_layer(d, heads, ffn) for _ in range(layers)])
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2) + self.pos_emb
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x).mean(1))


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# ----------------------------------------------------------------------------------------------- timing
class Timer:
    def __init__(self, device, warmup, iters):
        self.device, self.warmup, self.iters = device, warmup, iters
        self.cuda = device.type == "cuda"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def run(self, fn, warmup=None, iters=None):
        warmup = self.warmup if warmup is None else warmup
        iters = self.iters if iters is None else iters
        for _ in range(warmup):
            fn()
        self.sync()
        times = []
        for _ in range(iters):
            if self.cuda:
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        return {
            "median_ms": statistics.median(times),
            "min_ms": min(times),
            "max_ms": max(times),
            "iters": iters,
            "warmup": warmup,
        }


def seed_all(seed):
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


# Precision of the model cases (--precision): "fp32" (TF32 off, the default), "tf32" (TF32 matmuls and
# convolutions), "bf16" (torch.autocast to bfloat16 around the forward pass and the loss, TF32 on for what autocast
# leaves in fp32: the usual mixed-precision recipe). Master weights and the optimizer stay fp32 in every mode.
PRECISION = "fp32"


def amp():
    """The autocast context of the chosen precision (a no-op outside bf16)."""
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=PRECISION == "bf16")


def rand_ids(B, L, device, vocab=30522):
    return torch.randint(1, vocab, (B, L), device=device, dtype=torch.int64)


# ----------------------------------------------------------------------------------------------- cases
def bench_encoder_infer(dev, timer, seed, layers=6, shapes=((64, 32), (256, 32), (64, 128), (256, 128)), name="encoder_infer"):
    seed_all(seed)
    model = Encoder(layers=layers).to(dev).eval()
    rows = []
    for B, L in shapes:
        seed_all(seed + B * 1000 + L)
        ids = rand_ids(B, L, dev)
        mask = torch.ones(B, L, dtype=torch.int64, device=dev)

        def step():
            with torch.no_grad(), amp():
                model(ids, mask)

        r = timer.run(step)
        r.update(case=name, layers=layers, batch=B, seq=L, sentences_per_s=B / (r["median_ms"] / 1e3))
        log(f"  {name} L{layers} B={B} L={L}: {r['median_ms']:.3f} ms -> {r['sentences_per_s']:.0f} sentences/s")
        rows.append(r)
    del model
    return rows


def _train_step_fn(model, opt, batch_fn):
    def step():
        with amp():
            loss = batch_fn(model)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def bench_encoder_train(dev, timer, seed, layers=6, batches=(128, 256), L=32, optim="adamw", name="encoder_train"):
    rows = []
    for B in batches:
        seed_all(seed)
        model = Encoder(layers=layers).to(dev).train()
        if optim == "adamw":
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        ids = rand_ids(B, L, dev)
        mask = torch.ones(B, L, dtype=torch.int64, device=dev)
        target = F.normalize(torch.randn(B, 768, device=dev), dim=-1)
        step = _train_step_fn(model, opt, lambda m: F.mse_loss(m(ids, mask), target))
        r = timer.run(step)
        r.update(case=name, layers=layers, batch=B, seq=L, optimizer=type(opt).__name__, ms_per_step=r["median_ms"],
                 sentences_per_s=B / (r["median_ms"] / 1e3), params=n_params(model))
        log(f"  {name} L{layers} B={B} L={L} {type(opt).__name__}: {r['median_ms']:.3f} ms/step")
        rows.append(r)
        del model, opt
    return rows


def bench_vit_train(dev, timer, seed, batches=(128, 256)):
    rows = []
    for B in batches:
        seed_all(seed)
        model = ViT().to(dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        x = torch.randn(B, 3, 32, 32, device=dev)
        y = torch.randint(0, 10, (B,), device=dev)
        step = _train_step_fn(model, opt, lambda m: F.cross_entropy(m(x), y))
        r = timer.run(step)
        r.update(case="vit_train", batch=B, image=32, patch=4, ms_per_step=r["median_ms"],
                 images_per_s=B / (r["median_ms"] / 1e3), params=n_params(model))
        log(f"  vit_train B={B}: {r['median_ms']:.3f} ms/step")
        rows.append(r)
        del model, opt
    return rows


def pentachoron_cv(points, n_subsets=1000, k=5, gen=None):
    N = points.shape[0]
    dev = points.device
    idx = torch.randint(0, N, (n_subsets, k), device=dev, generator=gen)
    while True:  # resample subsets with a repeated point
        s, _ = idx.sort(dim=1)
        bad = (s[:, 1:] == s[:, :-1]).any(dim=1)
        nbad = int(bad.sum())
        if nbad == 0:
            break
        idx[bad] = torch.randint(0, N, (nbad, k), device=dev, generator=gen)
    P = points[idx].double()  # [S,5,D]
    G = P @ P.transpose(1, 2)
    sq = G.diagonal(dim1=1, dim2=2)
    D2 = (sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * G).clamp_min(0)
    CM = torch.ones(n_subsets, k + 1, k + 1, dtype=torch.float64, device=dev)
    CM[:, 0, 0] = 0
    CM[:, 1:, 1:] = D2
    det = torch.linalg.det(CM)
    n = k - 1  # 4-simplex
    vol2 = ((-1) ** (n + 1)) * det / (2 ** n * math.factorial(n) ** 2)  # = -det / 9216
    vol = vol2.clamp_min(0).sqrt()
    return (vol.std() / vol.mean()).item()


def bench_pentachoron(dev, timer, seed, n_points=100_000, dim=128, n_subsets=1000):
    seed_all(seed)
    pts = F.normalize(torch.randn(n_points, dim, device=dev), dim=-1)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    r = timer.run(lambda: pentachoron_cv(pts, n_subsets, gen=gen))
    gen.manual_seed(seed)
    cv = pentachoron_cv(pts, n_subsets, gen=gen)

    def with_points():
        p = F.normalize(torch.randn(n_points, dim, device=dev), dim=-1)
        return pentachoron_cv(p, n_subsets, gen=gen)

    r2 = timer.run(with_points)
    r.update(case="pentachoron_cv", points=n_points, dim=dim, subsets=n_subsets, cv=cv, ms=r["median_ms"],
             ms_including_point_sampling=r2["median_ms"])
    log(f"  pentachoron_cv: {r['median_ms']:.3f} ms (with point sampling {r2['median_ms']:.3f} ms), CV = {cv:.4f}")
    return [r]


def gpa(X32, iters=10):
    X = X32.double()
    X = X - X.mean(dim=1, keepdim=True)
    X = X / X.flatten(1).norm(dim=1).view(-1, 1, 1)
    for _ in range(iters):
        M = X.mean(dim=0)
        U, _, Vh = torch.linalg.svd(X.transpose(1, 2) @ M)
        X = X @ (U @ Vh)
    M = X.mean(dim=0)
    return ((X - M) ** 2).sum().item()


def bench_gpa(dev, timer, seed, n=4096, d=768, k=3, iters=10, timing_iters=None):
    seed_all(seed)
    X32 = torch.randn(k, n, d, device=dev)
    r = timer.run(lambda: gpa(X32, iters), warmup=min(timer.warmup, 2), iters=timing_iters)
    resid = gpa(X32, iters)
    r.update(case="gpa_768", matrices=k, rows=n, dim=d, gpa_iters=iters, residual=resid, ms=r["median_ms"])
    log(f"  gpa_768: {r['median_ms']:.2f} ms (residual {resid:.6g})")
    return [r]


def bench_matmul(dev, timer, n=8192):
    seed_all(0)
    a = torch.randn(n, n, device=dev)
    b = torch.randn(n, n, device=dev)
    r = timer.run(lambda: a @ b)
    r.update(case="matmul_8192", n=n, tflops=2 * n ** 3 / (r["median_ms"] / 1e3) / 1e12)
    log(f"  matmul {n}^3 fp32: {r['median_ms']:.2f} ms -> {r['tflops']:.1f} TFLOP/s")
    del a, b
    return [r]


# ----------------------------------------------------------------------------------------------- parity
def run_parity(dev, case_dir, seed=0, weights=None, tol=1e-4):
    """Loads the ONNX export's weights into the torch Encoder; compares against the ORT outputs in case_dir."""
    sys.path.insert(0, HERE)
    import numpy as np

    if weights:
        from seeded_weights import read_safetensors_f32

        w = read_safetensors_f32(weights)
    else:
        from seeded_weights import init_weights

        w = init_weights(seed)
    model = Encoder().to(dev).eval()
    sd = {k: torch.from_numpy(np.ascontiguousarray(v)).to(dev) for k, v in w.items()}
    model.load_state_dict(sd, strict=True)
    rows = []
    for path in sorted(glob.glob(os.path.join(case_dir, "*.json"))):
        with open(path) as fh:
            case = json.load(fh)
        ids = torch.tensor(case["input_ids"], dtype=torch.int64, device=dev)
        mask = torch.tensor(case["attention_mask"], dtype=torch.int64, device=dev)
        ref = torch.tensor(case["embedding"], dtype=torch.float64)
        out = {}
        for mode in ("eval_no_grad", "train_mode"):
            model.train(mode == "train_mode")
            with torch.no_grad():
                got = model(ids, mask).double().cpu()
            out[mode] = float((got - ref).abs().max())
        model.eval()
        row = {"case": os.path.basename(path), "batch": ids.shape[0], "seq": ids.shape[1],
               "max_abs_diff_vs_ort": max(out.values()), "by_mode": out}
        row["ok"] = row["max_abs_diff_vs_ort"] <= tol
        log(f"  parity {row['case']}: max|torch-ort| = {row['max_abs_diff_vs_ort']:.3e} {'ok' if row['ok'] else 'FAIL'} {out}")
        rows.append(row)
    return {"tol": tol, "ok": bool(rows) and all(r["ok"] for r in rows), "cases": rows,
            "weights": weights or f"seeded_weights.init_weights({seed})"}


# ----------------------------------------------------------------------------------------------- main
def markdown(results):
    lines = ["| case | shape | median ms | throughput |", "|---|---|---:|---:|"]
    for r in results:
        c = r["case"]
        if c in ("encoder_infer", "small_infer"):
            lines.append(f"| {c} ({r['layers']} layers) | B={r['batch']} L={r['seq']} | {r['median_ms']:.3f} | {r['sentences_per_s']:,.0f} sentences/s |")
        elif c in ("encoder_train", "small_train"):
            lines.append(f"| {c} ({r['layers']} layers, {r['optimizer']}) | B={r['batch']} L={r['seq']} | {r['median_ms']:.3f} | {r['sentences_per_s']:,.0f} sentences/s |")
        elif c == "vit_train":
            lines.append(f"| vit_train (32x32, patch 4, AdamW) | B={r['batch']} | {r['median_ms']:.3f} | {r['images_per_s']:,.0f} images/s |")
        elif c == "pentachoron_cv":
            lines.append(f"| pentachoron_cv (float64 CM det) | {r['points']:,} pts, {r['subsets']} subsets | {r['median_ms']:.3f} | CV {r['cv']:.4f}; {r['ms_including_point_sampling']:.3f} ms with point sampling |")
        elif c == "gpa_768":
            lines.append(f"| gpa_768 (float64, 10 iters) | {r['matrices']}x[{r['rows']},{r['dim']}] | {r['median_ms']:.2f} | residual {r['residual']:.4g} |")
        elif c == "matmul_8192":
            lines.append(f"| matmul fp32 (TF32 off) | {r['n']}^3 | {r['median_ms']:.2f} | {r['tflops']:.1f} TFLOP/s |")
    return "\n".join(lines)


ALL = ["matmul_8192", "encoder_infer", "small_infer", "encoder_train", "small_train", "vit_train", "pentachoron_cv", "gpa_768"]


def main():
    ap = argparse.ArgumentParser(description="PyTorch eager fp32 reference for BENCHMARKS.md")
    ap.add_argument("--out", help="JSON output path (written to tmp then os.replace)")
    ap.add_argument("--quick", action="store_true", help="short run: 2 warm-up + 3 timed iterations per case")
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(ALL)}")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32",
                    help="fp32 (TF32 off, default); tf32; bf16 = autocast bfloat16 + TF32 (model cases only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--parity", metavar="DIR", help="also check the encoder against ORT outputs (*.json from onnx/check-parity.mjs)")
    ap.add_argument("--parity-weights", help="safetensors with the export's weights (default: regenerate seed 0 with seeded_weights.py)")
    a = ap.parse_args()

    global PRECISION
    PRECISION = a.precision
    # fp32: no TF32 in matmuls or convolutions; tf32 and bf16 allow it
    tf32 = a.precision != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.set_float32_matmul_precision("high" if tf32 else "highest")

    dev = torch.device(a.device)
    warmup, iters = (2, 3) if a.quick else (a.warmup, max(a.iters, 20))
    timer = Timer(dev, warmup, iters)
    only = a.only.split(",") if a.only else ALL
    unknown = [c for c in only if c not in ALL]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; choose from {ALL}")

    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" else None
    log(f"torch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}) on {gpu or platform.processor() or 'cpu'}; "
        f"TF32 matmul={torch.backends.cuda.matmul.allow_tf32} cudnn={torch.backends.cudnn.allow_tf32}; warmup {warmup}, iters {iters}")

    probe = Encoder()
    params = n_params(probe)
    assert params == EXPECTED_PARAMS, f"encoder has {params} parameters, expected {EXPECTED_PARAMS}"
    small_params = n_params(Encoder(layers=2))
    vit_params = n_params(ViT())
    del probe
    log(f"encoder parameters {params:,} (expected {EXPECTED_PARAMS:,}); small (2 layers) {small_params:,}; ViT {vit_params:,}")

    results = []
    t_start = time.time()
    for c in only:
        log(f"[{c}] {a.precision}")
        if c == "matmul_8192":
            results += bench_matmul(dev, timer)
        elif c == "encoder_infer":
            results += bench_encoder_infer(dev, timer, a.seed)
        elif c == "small_infer":
            results += bench_encoder_infer(dev, timer, a.seed, layers=2, shapes=((128, 32),), name="small_infer")
        elif c == "encoder_train":
            results += bench_encoder_train(dev, timer, a.seed)
        elif c == "small_train":
            results += bench_encoder_train(dev, timer, a.seed, layers=2, batches=(128,), optim="adam", name="small_train")
        elif c == "vit_train":
            results += bench_vit_train(dev, timer, a.seed)
        elif c == "pentachoron_cv":
            results += bench_pentachoron(dev, timer, a.seed)
        elif c == "gpa_768":
            results += bench_gpa(dev, timer, a.seed)
        for r in results:
            r.setdefault("precision", a.precision)
        if dev.type == "cuda":
            torch.cuda.empty_cache()

    parity = run_parity(dev, a.parity, a.seed, a.parity_weights) if a.parity else None

    report = {
        "what": f"PyTorch eager {a.precision} reference for BENCHMARKS.md (issues 6, 19)",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "device": str(dev),
        "gpu": gpu,
        "python": platform.python_version(),
        "host": platform.node(),
        "settings": {
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "compile": False,
            "precision": a.precision,
            "warmup": warmup,
            "iters": iters,
            "quick": a.quick,
            "seed": a.seed,
            "statistic": "median of per-iteration CUDA-event times, synchronize after each iteration",
        },
        "params": {"encoder": params, "small_transformer": small_params, "vit": vit_params},
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "wall_s": time.time() - t_start,
        "results": results,
        "parity": parity,
    }
    table = markdown(results)
    log("\n### PyTorch %s eager %s on %s, %s\n" % (torch.__version__, a.precision, gpu or a.device, report["date"][:10]))
    log(table)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        tmp = f"{a.out}.tmp-{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump(report, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, a.out)
        log(f"\nwrote {a.out}")
    if parity is not None and not parity["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
