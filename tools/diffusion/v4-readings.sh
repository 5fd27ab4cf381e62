#!/usr/bin/env bash
# The v4 readings of issue 23 on CPU (wasm backend): one short glfm run per config in results/diffusion/v4-readings,
# one at a time, niced. Usage: bash tools/diffusion/v4-readings.sh [name ...] (default: all configs).
# Writes <out>/<name>.run/ (RUNS, default .tmp/v4-readings) and copies result.json and the metrics to
# results/diffusion/v4-readings/<name>-result.json, <name>-metrics.jsonl. BACKEND (default wasm) picks the backend.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=results/diffusion/v4-readings
runs=${RUNS:-.tmp/v4-readings}
mkdir -p "$runs"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then for f in "$dir"/config-*.json; do n=$(basename "$f" .json); names+=("${n#config-}"); done; fi
for n in "${names[@]}"; do
  echo "== $n $(date -u +%H:%M:%S)"
  rm -rf "$runs/$n.run"
  nice -n 10 node packages/recipes/bin/geolip-train.mjs run glfm --config "$dir/config-$n.json" --out "$runs/$n.run" \
    --backend "${BACKEND:-wasm}" 2>&1 | grep -v '^step ' | grep -v Warning || true
  if [ -f "$runs/$n.run/result.json" ]; then
    cp "$runs/$n.run/result.json" "$dir/$n-result.json"
    grep -v '"type":"step"' "$runs/$n.run/metrics.jsonl" > "$dir/$n-metrics-eval.jsonl" || true
    cp "$runs/$n.run/samples-v4.png" "$dir/$n-samples.png"
  fi
done
# The machine the runs were on (CPU, clock, flags; Node, tfjs versions).
node --input-type=module -e "
import { machineInfo } from './tools/perf/machine.mjs';
import * as tf from '@tensorflow/tfjs-core';
const m = { ...machineInfo({ tfVersion: tf.version_core }), backend: process.env.BACKEND ?? 'wasm', runs: process.argv.slice(1) };
console.log(JSON.stringify(m, null, 1));
" "${names[@]}" > "$dir/machine.json"
