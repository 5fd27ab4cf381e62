#!/usr/bin/env bash
# Trains `geolip-train run fmnist-vit` on the GPU machine in one device call (the machine is released after 30 s idle).
#   node tools/device/pack.mjs packages/recipes/bin/geolip-train.mjs --out .device/tc
#   mkdir -p .tmp/fmdev && cp /usr/share/datasets/fashion-mnist/*.gz .tmp/fmdev/      (tools/setup/fashion-mnist.sh)
#   run: MODEL=dual-stream bash tools/device/train-fmnist.sh .tmp/fmdev   (carry .device/tc and .tmp/fmdev)
# A 20-step probe measures seconds per step; `epochs` is then what fits in BUDGET seconds (default 590 − time used −
# 90 s for the final evaluation on the 10,000 test images and the scan), so the LR schedule spans the real run.
set -euo pipefail
data="$(cd "${1:?usage: train-fmnist.sh <dir with the Fashion-MNIST .gz files>}" && pwd)"
OUT="${OUT:?OUT must be set}"
model="${MODEL:-dual-stream}"
start=$(date +%s)
budget="${BUDGET:-590}"
work=/tmp/fm-work && rm -rf "$work" && mkdir -p "$work"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>/dev/null || true
printf '{"model":"%s","data":"%s","epochs":1,"trainLimit":5120,"testLimit":500,"evalEvery":100000,"checkpointEvery":100000,"warmupSteps":5}\n' "$model" "$data" > "$work/probe.json"
bash .device/tc/run.sh run fmnist-vit --config "$work/probe.json" --out "$work/probe" --backend "${BACKEND:-webgpu}" > "$OUT/probe-$model.log" 2>&1
per_step=$(python3 - "$work/probe/metrics.jsonl" <<'PY'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1])]
steps = [s for s in steps if s.get('type') == 'step']
a, b = steps[4], steps[-1]
print((b['elapsedMs'] - a['elapsedMs']) / 1000 / (b['step'] - a['step']))
PY
)
now=$(date +%s)
python3 - "$work/full.json" "$model" "$data" "$per_step" "$(( budget - (now - start) - 90 ))" > "$OUT/plan-$model.txt" <<'PY'
import json, sys
path, model, data, per_step, left = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
steps_per_epoch = 60000 // 256
epochs = max(1, int(left / (per_step * 1.03 * steps_per_epoch)))
c = {"model": model, "data": data, "epochs": epochs, "batchSize": 256, "lr": 1e-3, "warmupSteps": 200,
     "evalEvery": steps_per_epoch * epochs, "checkpointEvery": steps_per_epoch * epochs}
json.dump(c, open(path, 'w'))
print(f'probe: {per_step*1000:.1f} ms/step; {left:.0f} s left -> {epochs} epochs ({epochs*steps_per_epoch} steps)')
PY
cat "$OUT/plan-$model.txt"
cp "$work/full.json" "$OUT/config-$model.json"
set +e
bash .device/tc/run.sh run fmnist-vit --config "$work/full.json" --out "$work/run" --backend "${BACKEND:-webgpu}" > "$work/train.log" 2>&1
rc=$?
set -e
tr '\r' '\n' < "$work/train.log" | grep -v '^step ' > "$OUT/train-$model.log"
tail -40 "$OUT/train-$model.log"
cp "$work/run/result.json" "$OUT/result-$model.json" 2>/dev/null || true
cp "$work/run/metrics.jsonl" "$OUT/metrics-$model.jsonl" 2>/dev/null || true
echo "total $(( $(date +%s) - start )) s, exit $rc"
exit $rc
