#!/usr/bin/env bash
# Trains the text-consensus student on the GPU machine in one device call (the machine is released after 30 s
# idle, so nothing can wait for a second call). Made for `run` from the repo root:
#   node tools/device/pack.mjs packages/recipes/bin/geolip-train.mjs --out .device/tc
#   DATA=.tmp/tcdev   # corpus.txt.xz, consensus-f16.safetensors.xz, full.json (see packages/text/README.md)
#   run: bash tools/device/train-text-consensus.sh .tmp/tcdev   (carry .device/tc and .tmp/tcdev)
# Steps: unpack the data; a 40-step probe measures seconds per step; the config's `steps` is then set to what
# fits in BUDGET seconds (default 600 − time used − 75 s for tokenizing, the last evaluation and saving), so the
# LR schedule spans the real run; then the real run. Writes under $OUT: logs, metrics, the fp16 weights split in
# 15 MiB parts (the device returns files of at most 16 MiB), the fp32 weights' sha256.
set -euo pipefail
data="${1:?usage: train-text-consensus.sh <data dir>}"
OUT="${OUT:?OUT must be set}"
start=$(date +%s)
budget="${BUDGET:-590}"
mkdir -p .device/vocab && cp packages/text/vocab/bert-base-uncased-vocab.txt .device/vocab/
work=/tmp/tc-work && rm -rf "$work" && mkdir -p "$work"
xz -dc "$data/corpus.txt.xz" > "$work/corpus.txt"
xz -dc "$data/consensus-f16.safetensors.xz" > "$work/consensus-f16.safetensors"
cp "$data/full.json" "$work/full.json"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" || true
python3 - "$work/full.json" "$work/probe.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c.update(steps=40, warmupSteps=10, evalEvery=40, checkpointEvery=40, valSize=256)
json.dump(c, open(sys.argv[2], 'w'))
PY
bash .device/tc/run.sh run text-consensus --config "$work/probe.json" --out "$work/probe" --backend "${BACKEND:-webgpu}" > "$OUT/probe.log" 2>&1
per_step=$(python3 - "$work/probe/metrics.jsonl" <<'PY'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if '"step"' in l and '"type":"step"' in l.replace(' ', '')]
a, b = steps[9], steps[-1]          # skip the first 10 steps (shader compilation)
print((b['elapsedMs'] - a['elapsedMs']) / 1000 / (b['step'] - a['step']))
PY
)
now=$(date +%s)
python3 - "$work/full.json" "$per_step" "$(( budget - (now - start) - 75 ))" > "$OUT/plan.txt" <<'PY'
import json, sys
path, per_step, left = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
c = json.load(open(path))
evals = lambda s: max(1, s // c.get('evalEvery', 500))
steps = int(left / (per_step * 1.04))            # evaluations and checkpoints cost ~4 %
steps = max(100, min(c['steps'], steps))
c['steps'] = steps; c['warmupSteps'] = min(c.get('warmupSteps', 300), steps // 10)
c['evalEvery'] = max(1, steps // 4); c['checkpointEvery'] = steps
json.dump(c, open(path, 'w'))
print(f'probe: {per_step*1000:.1f} ms/step; {left:.0f} s left -> steps {steps}')
PY
cat "$OUT/plan.txt"
cp "$work/full.json" "$OUT/config.json"
set +e
bash .device/tc/run.sh run text-consensus --config "$work/full.json" --out "$work/run" --backend "${BACKEND:-webgpu}" > "$OUT/train.log" 2>&1
rc=$?
set -e
tr '\r' '\n' < "$OUT/train.log" | grep -v '^step ' | tail -20
cp "$work/run/metrics.jsonl" "$OUT/" 2>/dev/null || true
if [ -f "$work/run/student-fp16.safetensors" ]; then
  split -b 15M -d "$work/run/student-fp16.safetensors" "$OUT/student-fp16.safetensors.part"
  sha256sum "$work/run/student-fp16.safetensors" "$work/run/student.safetensors" > "$OUT/sha256.txt"
fi
echo "total $(( $(date +%s) - start )) s, exit $rc"
exit $rc
