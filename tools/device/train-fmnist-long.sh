#!/usr/bin/env bash
# Trains the Dual-Stream ViT and the plain ViT of `geolip-train run fmnist-vit` side by side on the GPU machine, over
# several device calls (one call is at most 600 s; the machine keeps ignored folders while it stays warm, ~30 s idle).
#
#   node tools/device/pack.mjs packages/recipes/bin/geolip-train.mjs --out .device/tc
#   mkdir -p .tmp/fmxz && for f in /usr/share/datasets/fashion-mnist/*.gz; do gunzip -c "$f" | xz -9e > ".tmp/fmxz/$(basename "$f" .gz).xz"; done
#   (xz, not gzip: 26.4 MB instead of 30.9 MB keeps the pack, the data and the tree under the 64 MiB carry limit)
#   run (the same command every call; carry .device/tc and .tmp/fmxz):
#     CALLS=3 bash tools/device/train-fmnist-long.sh .tmp/fmxz
#
# First call: a concurrent 20-step probe of both models measures seconds per step with both running; `epochs` is what
# the slower model fits in CALLS calls (CALLS × TRAIN_PER_CALL seconds), and both models get the same epochs and
# schedule. Every call then runs both with `--time-limit` (a checkpoint at the limit, exit 75) and `--resume` on the
# next call, until each writes result.json (test accuracy, scan, model.safetensors, embeddings). State lives in
# .device/fm-long (ignored, kept on the warm machine). Each call copies logs, metrics and finished results to $OUT.
set -euo pipefail
src="$(cd "${1:?usage: train-fmnist-long.sh <dir with the four Fashion-MNIST IDX files, .xz, .gz or plain>}" && pwd)"
OUT="${OUT:?OUT must be set}"
start=$(date +%s)
budget="${BUDGET:-530}"        # seconds this call may use (3 calls + start-up fit the 30 min a machine is held)
calls="${CALLS:-3}"            # device calls the whole run is planned for
train_per_call="${TRAIN_PER_CALL:-390}"
# EPOCHS=n skips the probe and plans n epochs; CONFIG_EXTRA='{"loss":{"mastery":0}}' is merged into both configs.
export EPOCHS="${EPOCHS:-}" CONFIG_EXTRA="${CONFIG_EXTRA:-{\}}"
models=(dual-stream vit)
state="${STATE:-.device/fm-long}"   # one folder per experiment
mkdir -p "$state/data"
data="$(cd "$state/data" && pwd)"
bash tools/device/unpack-data.sh "$src" "$data"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>/dev/null || true

# run.sh unpacks node, the app and Dawn and registers the Vulkan loader on first use: do that once, not twice at once.
bash .device/tc/run.sh --version > "$OUT/version.txt" 2>&1

if [[ ! -f "$state/plan.txt" ]]; then
  [[ -z "$EPOCHS" ]] && for m in "${models[@]}"; do
    printf '{"model":"%s","data":"%s","epochs":1,"trainLimit":5120,"valSize":0,"testLimit":500,"checkpointEvery":100000,"warmupSteps":5}\n' "$m" "$data" > "$state/probe-$m.json"
    rm -rf "$state/probe-$m"
    bash .device/tc/run.sh run fmnist-vit --config "$state/probe-$m.json" --out "$state/probe-$m" --backend webgpu > "$state/probe-$m.log" 2>&1 &
  done
  wait
  python3 - "$state" "$data" "$calls" "$train_per_call" > "$state/plan.tmp" <<'PY'
import json, os, sys
state, data, calls, per_call = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
extra = json.loads(os.environ['CONFIG_EXTRA'])
def per_step(m):
    steps = [json.loads(l) for l in open(f'{state}/probe-{m}/metrics.jsonl')]
    steps = [s for s in steps if s.get('type') == 'step']
    a, b = steps[4], steps[-1]
    return (b['elapsedMs'] - a['elapsedMs']) / 1000 / (b['step'] - a['step'])
steps_per_epoch = (60000 - 5000) // 256
if os.environ['EPOCHS']:
    t = {'dual-stream': float('nan'), 'vit': float('nan')}
    epochs = int(os.environ['EPOCHS'])
else:
    t = {m: per_step(m) for m in ('dual-stream', 'vit')}
    epochs = max(1, int(calls * per_call / (max(t.values()) * 1.05 * steps_per_epoch)))
for m in t:
    c = {"model": m, "data": data, "epochs": epochs, "batchSize": 256, "lr": 1e-3, "warmupSteps": 300, "valSize": 5000,
         "checkpointEvery": 100000, **extra}
    json.dump(c, open(f'{state}/full-{m}.json', 'w'))
print('probe (both running): ' + ', '.join(f'{m} {1000*v:.1f} ms/step' for m, v in t.items()) +
      f'; {calls} calls x {per_call:.0f} s -> {epochs} epochs ({epochs*steps_per_epoch} steps) each; config extra {json.dumps(extra)}')
PY
  mv "$state/plan.tmp" "$state/plan.txt"
fi
cat "$state/plan.txt" | tee "$OUT/plan.txt"

now=$(date +%s)
limit=$(( budget - (now - start) - 110 ))   # leaves time for the final test evaluation, scan and embeddings
pids=()
for m in "${models[@]}"; do
  if [[ -f "$state/run-$m/result.json" ]]; then continue; fi
  resume=()
  [[ -f "$state/run-$m/checkpoints/latest.json" ]] && resume=(--resume)
  ( set +e
    bash .device/tc/run.sh run fmnist-vit --config "$state/full-$m.json" --out "$state/run-$m" --backend webgpu \
      --time-limit "$limit" "${resume[@]}" >> "$state/train-$m.log" 2>&1
    echo "$m exit $?" >> "$state/exits.log" ) &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
small="$OUT/small" && mkdir -p "$small"
for m in "${models[@]}"; do
  tr '\r' '\n' < "$state/train-$m.log" | grep -v '^step ' > "$small/train-$m.log" || true
  cp "$state/run-$m/metrics.jsonl" "$small/metrics-$m.jsonl" 2>/dev/null || true
  if [[ -f "$state/run-$m/result.json" ]]; then
    cp "$state/run-$m/result.json" "$small/result-$m.json"
    if [[ ! -f "$state/run-$m/shipped" ]]; then   # the large files come back once
      cp "$state/run-$m/embeddings-test.safetensors" "$OUT/embeddings-test-$m.safetensors"
      cp "$state/run-$m/embeddings-train.safetensors" "$OUT/embeddings-train-$m.safetensors"
      # Files come back at most 16 MiB each: the fp32 weights travel in parts (cat them back in order).
      split -b 15m -d "$state/run-$m/model.safetensors" "$OUT/model-$m.safetensors.part-"
      touch "$state/run-$m/shipped"
    fi
  fi
  tail -4 "$small/train-$m.log"
done
cp "$state/exits.log" "$state/plan.txt" "$small/" 2>/dev/null || true
mv "$OUT"/gpu.txt "$OUT"/version.txt "$small/" 2>/dev/null || true
tar -C "$OUT" -cf "$OUT/small.tar" small && rm -rf "$small"   # the number of files that come back is limited
echo "call took $(( $(date +%s) - start )) s (time limit $limit s)"
