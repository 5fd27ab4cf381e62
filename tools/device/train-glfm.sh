#!/usr/bin/env bash
# Trains the four GLFM variants of `geolip-train run glfm` side by side on the GPU machine in one device call, each
# for at most TRAIN seconds (`--time-limit`: a checkpoint and exit 75), then finishes each run from its checkpoint
# (`--resume --steps <the checkpoint's step>`: no more training; the sample grid, the conditional accuracy of samples
# and result.json). The LR schedule spans the config's epochs, so a run stopped early did not finish its cosine decay:
# result.json records the steps reached out of the steps planned.
#
#   npm run build && node tools/device/pack.mjs packages/train/bin/geolip-train.mjs --out .device/tc
#   mkdir -p .tmp/fmxz && for f in /usr/share/datasets/fashion-mnist/*.gz; do gunzip -c "$f" | xz -9e > ".tmp/fmxz/$(basename "$f" .gz).xz"; done
#   run: TRAIN=200 bash tools/device/train-glfm.sh .tmp/fmxz       (carry .device/tc and .tmp/fmxz)
set -euo pipefail
src="$(cd "${1:?usage: train-glfm.sh <dir with the four Fashion-MNIST IDX files, .xz, .gz or plain>}" && pwd)"
OUT="${OUT:?OUT must be set}"
start=$(date +%s)
train_s="${TRAIN:-200}"
epochs="${EPOCHS:-3}"
variants=(${VARIANTS:-v1 v2 v3 v4})
state=/tmp/glfm && rm -rf "$state" && mkdir -p "$state/data" "$OUT/glfm"
bash tools/device/unpack-data.sh "$src" "$state/data"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/glfm/gpu.txt" 2>/dev/null || true
bash .device/tc/run.sh --version > "$OUT/glfm/version.txt" 2>&1   # unpack once, not four times at once

for v in "${variants[@]}"; do
  printf '{"variant":"%s","data":"%s","epochs":%s,"batchSize":128,"lr":1e-3,"warmupSteps":200,"checkpointEvery":100000,"classifierSteps":800,"samplesPerClass":50,"sampleSteps":50}\n' \
    "$v" "$state/data" "$epochs" > "$state/$v.json"
  ( set +e
    bash .device/tc/run.sh run glfm --config "$state/$v.json" --out "$state/run-$v" --backend webgpu --time-limit "$train_s" > "$state/train-$v.log" 2>&1
    code=$?
    if [[ $code -eq 75 ]]; then
      step=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step'])" "$state/run-$v/checkpoints/latest.json" 2>/dev/null || echo "")
      if [[ -n "$step" ]]; then
        bash .device/tc/run.sh run glfm --config "$state/$v.json" --out "$state/run-$v" --backend webgpu --resume --steps "$step" >> "$state/train-$v.log" 2>&1
        code=$?
      fi
    fi
    echo "$v exit $code" >> "$state/exits.log" ) &
done
wait
for v in "${variants[@]}"; do
  tr '\r' '\n' < "$state/train-$v.log" | grep -v '^step ' > "$OUT/glfm/train-$v.log" || true
  cp "$state/$v.json" "$OUT/glfm/config-$v.json"
  for f in result.json metrics.jsonl "samples-$v.png"; do
    [[ -f "$state/run-$v/$f" ]] && cp "$state/run-$v/$f" "$OUT/glfm/${v}-$f"
  done
  tail -3 "$OUT/glfm/train-$v.log"
done
cp "$state/exits.log" "$OUT/glfm/" 2>/dev/null || true
tar -C "$OUT" -cf "$OUT/glfm.tar" glfm && rm -rf "$OUT/glfm"
echo "call took $(( $(date +%s) - start )) s"
