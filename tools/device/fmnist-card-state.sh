#!/usr/bin/env bash
# After a tools/device/train-fmnist-card.sh call: keeps what came back.
#   bash tools/device/fmnist-card-state.sh <the call's files dir> <run name>
# - the log, metrics.jsonl and (a finished run's) result.json → results/vision/fmnist-card/<run>/ (committed; the log
#   is appended, one call after the other);
# - the compact checkpoint (carry-checkpoints.tar) and metrics.jsonl → results/vision/fmnist-card/<run>/state/
#   (committed: ignored paths do not survive a session), which the next session's call resumes from (--rewarm-steps);
# - the embeddings files of a finished run → .tmp/fmnist-card/<run>/ (large; not committed).
set -euo pipefail
from="${1:?usage: fmnist-card-state.sh <files dir> <run name>}"
name="${2:?usage: fmnist-card-state.sh <files dir> <run name>}"
root="$(git rev-parse --show-toplevel)"
res="$root/results/vision/fmnist-card/$name"
mkdir -p "$res"
[ -f "$from/train.log" ] && cat "$from/train.log" >> "$res/train.log"
[ -f "$from/metrics.jsonl" ] && cp "$from/metrics.jsonl" "$res/metrics.jsonl"
[ -f "$from/result.json" ] && cp "$from/result.json" "$res/result.json"
if [ -f "$from/carry-checkpoints.tar" ]; then
  rm -rf "$res/state.new" && mkdir -p "$res/state.new/checkpoints"
  tar xf "$from/carry-checkpoints.tar" -C "$res/state.new/checkpoints"
  [ -f "$from/metrics.jsonl" ] && cp "$from/metrics.jsonl" "$res/state.new/metrics.jsonl"
  rm -rf "$res/state" && mv "$res/state.new" "$res/state"
fi
for f in embeddings-train.safetensors embeddings-test.safetensors; do
  if [ -f "$from/$f" ]; then mkdir -p "$root/.tmp/fmnist-card/$name" && cp "$from/$f" "$root/.tmp/fmnist-card/$name/$f"; fi
done
echo "fmnist-card-state: $res; compact checkpoint in $res/state: $(cat "$res/state/checkpoints/latest.json" 2>/dev/null || echo none)"
