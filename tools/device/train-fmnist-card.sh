#!/usr/bin/env bash
# Issue 20's long Fashion-MNIST runs (`geolip-train run fmnist-vit` with a card preset) across device calls and
# sessions. On the GPU machine, from the repository root:
#   CONFIG=results/vision/fmnist-card/<run>.json bash tools/device/train-fmnist-card.sh
# It carries (set up on the CPU machine, see below): the geolip-train pack in .device/tc, the Fashion-MNIST training
# images in .tmp/fmxz (xz), and, from an earlier session, the compact checkpoint committed beside the config in
# results/vision/fmnist-card/<run>/state (weights in F16, ~13 MB; ignored paths do not survive a session, so it is committed;
# AdamW restarts with a re-warm-up, --rewarm-steps). The test images travel only in the call that finishes the run
# (their 4.4 MB and a compact checkpoint do not both fit beside the pack and the training images): without them the
# run is told "test": false, which a resume does not compare, so the finishing call may add them.
# Within one lease the full checkpoints stay on the machine's disk (/tmp/geolip-fmrun, outside the working tree, survives
# between calls while the machine is warm), so consecutive calls resume exactly; every call also writes the compact checkpoint to
# $OUT/carry-* for the next session (the last call's is the one to keep).
#
# CPU machine, before the first call of a session:
#   node tools/device/pack.mjs packages/recipes/bin/geolip-train.mjs --out .device/tc
#   bash tools/device/fmnist-xz.sh /usr/share/datasets/fashion-mnist .tmp/fmxz [--with-test]
#   bash tools/device/carry-slim.sh hide     (carry only what the run needs: see that script)
#   run: CONFIG=… bash tools/device/train-fmnist-card.sh   (carry .device/tc and .tmp/fmxz; the state is tracked)
#   bash tools/device/carry-slim.sh restore
# A finished run with the test images also returns fmnist-dual-stream.safetensors (fmnist-export), the package's model.
# After the call: copy $OUT/metrics.jsonl (and result.json when the run finished) to results/vision/fmnist-card/<run>/,
# and $OUT/carry-* to results/vision/fmnist-card/<run>/state/ (tools/device/fmnist-card-state.sh does both; commit them).
# TIME_LIMIT (default 480 s) is the training time of this call; REWARM (default 100) the re-warm-up steps after a
# compact resume. PACK (default .device/tc) is the pack; PACK_APP its entry name when the pack has several (e.g. a pack
# of tools/device/gpu-suite.mjs, tools/perf/recipe-steps.mjs and geolip-train: PACK=.device/all PACK_APP=geolip-train).
set -euo pipefail
pack="${PACK:-.device/tc}"
app="${PACK_APP:-}"
OUT="${OUT:?OUT must be set}"
config="${CONFIG:?CONFIG must name the run config}"
[ -f "$config" ] || { echo "train-fmnist-card: no config $config" >&2; exit 2; }
state="${STATE:-$(dirname "$config")/$(basename "$config" .json)/state}"
data=/tmp/fmnist-data
mkdir -p "$data"
for z in .tmp/fmxz/*.xz; do
  f="$data/$(basename "$z" .xz)"
  [ -f "$f" ] || { xz -dc "$z" > "$f.tmp" && mv "$f.tmp" "$f"; }
done
# Outside the working tree: each call copies the tree afresh (ignored paths carried or not may be replaced), but the
# machine's /tmp stays while the lease is warm.
run="${RUN_DIR:-/tmp/geolip-fmrun}"
mkdir -p "$run"
# The config with the machine's data directory.
has_test=false
[ -f "$data/t10k-images-idx3-ubyte" ] && [ -f "$data/t10k-labels-idx1-ubyte" ] && has_test=true
python3 - "$config" "$data" "$run/run.json" "$has_test" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c['data'] = sys.argv[2]; c['test'] = sys.argv[4] == 'true'
json.dump(c, open(sys.argv[3], 'w'))
PY
resume=()
if [ -f "$run/out/checkpoints/latest.json" ]; then
  resume=(--resume)
elif [ -f "$state/checkpoints/latest.json" ]; then
  mkdir -p "$run/out"
  cp -r "$state/checkpoints" "$run/out/checkpoints"
  [ -f "$state/metrics.jsonl" ] && cp "$state/metrics.jsonl" "$run/out/metrics.jsonl"
  resume=(--resume --rewarm-steps "${REWARM:-100}")
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$OUT/train.log" 2>/dev/null || true
echo "config $config; ${resume[*]:-fresh start}" >> "$OUT/train.log"
set +e
bash "$pack/run.sh" $app run fmnist-vit --config "$run/run.json" --out "$run/out" --backend webgpu \
  --time-limit "${TIME_LIMIT:-480}" "${resume[@]}" > "$run/log" 2>&1
rc=$?
set -e
tr '\r' '\n' < "$run/log" | grep -v '^step ' | grep -v '^Warning' >> "$OUT/train.log" || true
echo "exit $rc (75: stopped at the time limit, resumable)" >> "$OUT/train.log"
cp "$run/out/metrics.jsonl" "$OUT/metrics.jsonl" 2>/dev/null || true
# What a finished run wrote, except model.safetensors (fp32: over the 16 MiB a returned file may have; its F16 weights
# come back in the compact checkpoint).
for f in result.json embeddings-train.safetensors embeddings-test.safetensors; do
  if [ -f "$run/out/$f" ]; then cp "$run/out/$f" "$OUT/$f"; fi
done
# A finished run with its test split: the package's model file (F16, ~12.8 MB) made here, since the fp32
# model.safetensors cannot come back (fmnist-export; the note says where it was trained).
if [ -f "$run/out/result.json" ] && [ "$has_test" = true ]; then
  printf '{"run":"%s","data":"%s","note":"%s; H100 webgpu"}\n' "$run/out" "$data" "$(basename "$config" .json)" > "$run/export.json"
  bash "$pack/run.sh" $app run fmnist-export --config "$run/export.json" --out "$run/export" >> "$OUT/train.log" 2>&1 &&
    cp "$run/export/fmnist-dual-stream.safetensors" "$OUT/fmnist-dual-stream.safetensors" || echo "export failed" >> "$OUT/train.log"
fi
# The compact checkpoint for the next session, flat (files come back at most two folders down).
if [ -f "$run/out/checkpoints/latest.json" ]; then
  rm -rf /tmp/carry && bash "$pack/run.sh" $app compact-checkpoint "$run/out/checkpoints" --out /tmp/carry >> "$OUT/train.log" 2>&1
  (cd /tmp/carry && tar cf "$OUT/carry-checkpoints.tar" .)
fi
tail -5 "$OUT/train.log"
exit $rc
