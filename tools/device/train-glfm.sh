#!/usr/bin/env bash
# Trains the four GLFM variants of `geolip-train run glfm` side by side on the GPU machine, over one or more device
# calls (a call is at most 600 s; the machine keeps ignored folders while it stays warm, ~30 s idle, 30 min at most).
#
#   npm run build && node tools/device/pack.mjs packages/recipes/bin/geolip-train.mjs tools/perf/glfm-profile.mjs --out .device/tc
#   mkdir -p .tmp/fmxz && for f in /usr/share/datasets/fashion-mnist/*.gz; do gunzip -c "$f" | xz -9e > ".tmp/fmxz/$(basename "$f" .gz).xz"; done
#   run (the same command every call; carry .device/tc and .tmp/fmxz):
#     TRAIN_TOTAL=1300 bash tools/device/train-glfm.sh .tmp/fmxz        (EPOCHS=n instead of a plan; MODEL_CONFIG='{...}')
#   and on the last call add FINISH=1.
#
# Every call runs each unfinished variant with `--time-limit` (a checkpoint at the limit, exit 75), resuming from the
# previous call's checkpoint. A run that reaches its planned steps finishes in the same process: the sample grid, the
# conditional accuracy of samples (a classifier trained in the recipe) and result.json. With FINISH=1 a run stopped by
# the limit is finished from its checkpoint (`--resume --steps <the checkpoint's step>`: no more training); the LR
# schedule spans the planned epochs, so result.json then records the steps reached out of the steps planned.
# State lives in STATE (default .device/glfm, ignored, kept on the warm machine). Each call copies logs, metrics and
# finished results back (one tar: the number of files that come back is limited).
set -euo pipefail
src="$(cd "${1:?usage: train-glfm.sh <dir with the four Fashion-MNIST IDX files, .xz, .gz or plain>}" && pwd)"
OUT="${OUT:?OUT must be set}"
start=$(date +%s)
budget="${BUDGET:-560}"         # seconds this call may use in all
reserve="${RESERVE:-150}"       # seconds kept for finishing (samples, classifier, result.json) after the time limit
epochs="${EPOCHS:-}"          # empty: planned from a profile of the first call (TRAIN_TOTAL)
batch="${BATCH:-128}"
model_config="${MODEL_CONFIG:-{\}}"   # JSON merged into each config's modelConfig
config_extra="${CONFIG_EXTRA:-{\}}"   # JSON merged into each config
finish="${FINISH:-0}"
backend="${BACKEND:-webgpu}"   # cpu or wasm to try the script on a machine without a GPU
variants=(${VARIANTS:-v1 v2 v3 v4})
state="${STATE:-.device/glfm}"
mkdir -p "$state/data"
data="$(cd "$state/data" && pwd)"
bash tools/device/unpack-data.sh "$src" "$data"
small="$OUT/glfm" && mkdir -p "$small"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$small/gpu.txt" 2>/dev/null || true
# A pack of several programs (e.g. with glfm-profile) takes the program's name first.
gt=(bash .device/tc/run.sh) && [[ $(ls .device/tc/app-*.mjs.xz | wc -l) -gt 1 ]] && gt+=(geolip-train)
"${gt[@]}" --version > "$small/version.txt" 2>&1   # unpack once, not four times at once

# Without EPOCHS, the first call plans them: glfm-profile times each variant's step alone, and the four runs share
# the GPU, so one epoch of all four takes about Σ (ms per step) × steps per epoch; EPOCHS is what fits TRAIN_TOTAL
# seconds (the training time of all calls together).
if [[ -z "$epochs" && "$model_config" != "{}" ]]; then echo "train-glfm.sh: the plan profiles the presets; with MODEL_CONFIG give EPOCHS" >&2; exit 2; fi
if [[ -z "$epochs" && ! -f "$state/plan.json" ]]; then
  only=$(IFS=,; echo "${variants[*]}")
  bash .device/tc/run.sh glfm-profile --out "$state" --steps 5 --warmup 3 --only "$only" > "$state/profile.log" 2>&1
  python3 - "$state" "${TRAIN_TOTAL:-1300}" "$batch" > "$state/plan.tmp" <<'PY'
import json, sys
state, total, batch = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
cases = json.load(open(f'{state}/glfm-profile.json'))['cases']
ms = {c['name']: c['msPerStep'] * batch / c['batch'] for c in cases}
steps_per_epoch = 60000 // batch
epochs = max(1, int(total / (sum(ms.values()) / 1000 * steps_per_epoch)))
print(json.dumps({'epochs': epochs, 'msPerStepAlone': ms, 'trainTotalSeconds': total, 'stepsPerEpoch': steps_per_epoch}))
PY
  mv "$state/plan.tmp" "$state/plan.json"
fi
[[ -z "$epochs" ]] && epochs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['epochs'])" "$state/plan.json")
[[ -f "$state/plan.json" ]] && cp "$state/plan.json" "$small/"
echo "epochs $epochs"

for v in "${variants[@]}"; do
  [[ -f "$state/$v.json" ]] && continue   # the config is fixed by the first call
  python3 - "$v" "$data" "$epochs" "$batch" "$model_config" "$config_extra" > "$state/$v.json" <<'PY'
import json, sys
v, data, epochs, batch, mc, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5]), json.loads(sys.argv[6])
c = {"variant": v, "data": data, "epochs": epochs, "batchSize": batch, "lr": 1e-3, "warmupSteps": 200, "checkpointEvery": 100000,
     "classifierSteps": 1500, "samplesPerClass": 100, "sampleSteps": 50, "valSize": 1000, "modelConfig": mc, **extra}
print(json.dumps(c))
PY
done

limit=$(( budget - ($(date +%s) - start) - reserve ))
for v in "${variants[@]}"; do
  [[ -f "$state/run-$v/result.json" ]] && continue
  ( set +e
    resume=()
    [[ -f "$state/run-$v/checkpoints/latest.json" ]] && resume=(--resume)
    "${gt[@]}" run glfm --config "$state/$v.json" --out "$state/run-$v" --backend "$backend" --time-limit "$limit" "${resume[@]}" >> "$state/train-$v.log" 2>&1
    code=$?
    if [[ $code -eq 75 && "$finish" == 1 ]]; then
      step=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step'])" "$state/run-$v/checkpoints/latest.json" 2>/dev/null || echo "")
      if [[ -n "$step" ]]; then
        "${gt[@]}" run glfm --config "$state/$v.json" --out "$state/run-$v" --backend "$backend" --resume --steps "$step" >> "$state/train-$v.log" 2>&1
        code=$?
      fi
    fi
    echo "$v exit $code ($(date -u +%H:%M:%S))" >> "$state/exits.log" ) &
done
wait
for v in "${variants[@]}"; do
  tr '\r' '\n' < "$state/train-$v.log" | grep -v '^step ' > "$small/train-$v.log" || true
  cp "$state/$v.json" "$small/config-$v.json"
  for f in result.json metrics.jsonl "samples-$v.png"; do
    [[ -f "$state/run-$v/$f" ]] && cp "$state/run-$v/$f" "$small/${v}-$f"
  done
  tail -3 "$small/train-$v.log"
done
cp "$state/exits.log" "$small/" 2>/dev/null || true
tar -C "$OUT" -cf "$OUT/glfm.tar" glfm && rm -rf "$small"
echo "call took $(( $(date +%s) - start )) s (time limit $limit s)"
