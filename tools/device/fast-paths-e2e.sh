#!/usr/bin/env bash
# Issue 19's "a recipe trained end to end with the fast paths gives a result within noise of the same recipe without
# them": the Dual-Stream ViT recipe (`geolip-train run fmnist-vit`, model dual-stream, mastery queue off, batch 256,
# lr 1e-3) on a 20,000-image Fashion-MNIST subset (18,000 train + 2,000 validation; the full 10,000 test images),
# trained three times in one device call:
#   on-seed1   every @geolip/nn webgpu fast path on (the default)
#   off-seed1  issue 19's paths off (GEOLIP_WEBGPU_MATMUL=0 GEOLIP_WEBGPU_IN_PLACE=0 GEOLIP_WEBGPU_ATTENTION=0
#              GEOLIP_WEBGPU_SUM_SQUARES=0)
#   on-seed2   fast paths on, another seed: the seed-to-seed spread that "within noise" is measured against
# Set-up here:
#   node tools/device/pack.mjs packages/recipes/bin/geolip-train.mjs --out .device/tc
#   node tools/device/fmnist-subset.mjs /usr/share/datasets/fashion-mnist .tmp/fm20k 20000
#   run: bash tools/device/fast-paths-e2e.sh .tmp/fm20k   (carry .device/tc and .tmp/fm20k; OUT set by the machine)
#   PACK=.device/all PACK_APP=geolip-train: a pack of several entries; EPOCHS (default 2).
# Writes $OUT/e2e-<run>.json (result.json of each run) and $OUT/e2e.log (the GPU, then each run's log).
set -euo pipefail
data="$(cd "${1:?usage: fast-paths-e2e.sh <dir with the Fashion-MNIST .gz files>}" && pwd)"
OUT="${OUT:?OUT must be set}"
epochs="${EPOCHS:-2}"
pack="${PACK:-.device/tc}"
app="${PACK_APP:-}" # the entry name when the pack has several (e.g. geolip-train)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/e2e.log" 2>/dev/null || true
work=/tmp/e2e-work && rm -rf "$work" && mkdir -p "$work"
steps_per_epoch=$(( 18000 / 256 ))
train_one() {
  local name="$1" seed="$2"
  shift 2
  printf '{"model":"dual-stream","data":"%s","epochs":%d,"trainLimit":20000,"valSize":2000,"batchSize":256,"lr":1e-3,"warmupSteps":20,"seed":%d,"loss":{"mastery":0},"evalEvery":%d,"checkpointEvery":100000}\n' \
    "$data" "$epochs" "$seed" "$(( steps_per_epoch * epochs ))" > "$work/$name.json"
  local t0=$(date +%s) rc=0
  env "$@" bash "$pack/run.sh" $app run fmnist-vit --config "$work/$name.json" --out "$work/$name" --backend webgpu \
    > "$work/$name.log" 2>&1 || rc=$?
  { echo "== $name (seed $seed; $*)"; tr '\r' '\n' < "$work/$name.log" | grep -v '^step ' | grep -v '^Warning'; } >> "$OUT/e2e.log" || true
  cp "$work/$name/result.json" "$OUT/e2e-$name.json" 2>/dev/null || true
  echo "$name: exit $rc, $(( $(date +%s) - t0 )) s, $(grep -o '"testAccuracy": *[0-9.]*' "$OUT/e2e-$name.json" 2>/dev/null || echo 'no result')"
}
train_one on-seed1 1 GEOLIP_E2E=on
train_one off-seed1 1 GEOLIP_WEBGPU_MATMUL=0 GEOLIP_WEBGPU_IN_PLACE=0 GEOLIP_WEBGPU_ATTENTION=0 GEOLIP_WEBGPU_SUM_SQUARES=0
train_one on-seed2 2 GEOLIP_E2E=on
