#!/usr/bin/env bash
# On the GPU machine, from the repository root, with the pack of `npm run bench:gpu:pack` in .device/gpu:
# the GPU half of BENCHMARKS.md in one run. Writes to $OUT (default ./gpu-results):
#   torch-h100.json          tools/perf/peers/torch_reference.py (PyTorch eager fp32, TF32 off)
#   tfjs-webgpu.json         tools/perf/model-bench.mjs on webgpu with @geolip/nn's fast paths
#   tfjs-webgpu-stock.json   the same program with GEOLIP_WEBGPU_FUSED=0 GEOLIP_WEBGPU_UPLOAD_PATCH=0
# Copy them to results/perf/gpu/ and run `node tools/perf/write-benchmarks.mjs`.
# PART=peers runs PyTorch and tfjs with the fast paths only; PART=stock only the stock tfjs run (each fits one
# 10-minute device call); default: all three.
set -euo pipefail
mkdir -p "${OUT:-gpu-results}"
out="$(cd "${OUT:-gpu-results}" && pwd)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
part="${PART:-all}"
if [ "$part" != stock ]; then
  (cd tools/perf/peers && PYTHONUNBUFFERED=1 python3 torch_reference.py --out "$out/torch-h100.json" | tail -20)
  bash .device/gpu/run.sh model-bench --backend webgpu --out "$out/tfjs-webgpu.json" 2>&1 | grep -E '^  [a-z_0-9]+ \{' | cut -c1-160
fi
[ "$part" = peers ] && exit 0
GEOLIP_WEBGPU_FUSED=0 GEOLIP_WEBGPU_GRAD_PATCH=0 GEOLIP_WEBGPU_UPLOAD_PATCH=0 bash .device/gpu/run.sh model-bench --backend webgpu --iters 5 \
  --cases encoder_infer,encoder_train,small_train,small_infer,vit_train --out "$out/tfjs-webgpu-stock.json" 2>&1 | grep -E '^  [a-z_0-9]+ \{' | cut -c1-160
