#!/usr/bin/env bash
# On the GPU machine, from the repository root, with the pack of `npm run bench:gpu:pack` in .device/gpu:
# the GPU half of BENCHMARKS.md (issue 19). Writes to $OUT (default ./gpu-results):
#   torch-fp32.json, torch-tf32.json, torch-bf16.json   tools/perf/peers/torch_reference.py --precision …
#   tfjs-webgpu.json         tools/perf/model-bench.mjs on webgpu, every @geolip/nn fast path on
#   tfjs-webgpu-before.json  the training and inference cases with issue 19's paths off (GEOLIP_WEBGPU_MATMUL=0
#                            GEOLIP_WEBGPU_IN_PLACE=0 GEOLIP_WEBGPU_ATTENTION=0): the issue-6 state, same run
#   dawn-probe.json          what Dawn's adapter exposes (shader-f16, subgroups, subgroup matrices)
#   recipe-steps.json        the recipes' real training steps (tools/perf/recipe-steps.mjs), every fast path on
# Copy them to results/perf/gpu/ and run `node tools/perf/write-benchmarks.mjs`.
# PART=torch runs the PyTorch columns; PART=tfjs the tfjs ones and the probe (each fits one 10-minute device call);
# default: both.
set -euo pipefail
mkdir -p "${OUT:-gpu-results}"
out="$(cd "${OUT:-gpu-results}" && pwd)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
part="${PART:-all}"
show() { grep -E '^  [a-z_0-9]+ \{' | cut -c1-150 || true; }
if [ "$part" != tfjs ]; then
  for p in fp32 tf32 bf16; do
    only=""
    [ "$p" != fp32 ] && only="--only encoder_infer,small_infer,encoder_train,small_train,vit_train"
    (cd tools/perf/peers && PYTHONUNBUFFERED=1 python3 torch_reference.py --precision "$p" $only --out "$out/torch-$p.json" | tail -14)
  done
fi
[ "$part" = torch ] && exit 0
bash .device/gpu/run.sh dawn-probe --out "$out/dawn-probe.json" | tail -3 || true
bash .device/gpu/run.sh model-bench --backend webgpu --out "$out/tfjs-webgpu.json" \
  --cases encoder_infer,small_infer,encoder_train,small_train,vit_train,pentachoron_cv,pentachoron_cv_gpu,matmul_shapes 2>&1 | show
GEOLIP_WEBGPU_MATMUL=0 GEOLIP_WEBGPU_IN_PLACE=0 GEOLIP_WEBGPU_ATTENTION=0 bash .device/gpu/run.sh model-bench \
  --backend webgpu --cases encoder_infer,small_infer,encoder_train,small_train,vit_train \
  --out "$out/tfjs-webgpu-before.json" 2>&1 | show
bash .device/gpu/run.sh recipe-steps --backend webgpu --out "$out/recipe-steps.json" 2>&1 | tail -14 || true
