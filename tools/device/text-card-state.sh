#!/usr/bin/env bash
# After a tools/device/train-text-card.sh call, on the CPU machine: keeps what came back.
#   bash tools/device/text-card-state.sh <the call's files dir> [<results dir>]
# - train.log is appended to <results dir>/train.log (default results/text/caption-card/run; one call after the
#   other), metrics.jsonl, plan.json and (the finished run's) result.json and sha256.txt are copied there;
# - the finished run's fp16 weights are put together from their parts into .tmp/caption-card/student-fp16.safetensors
#   (52 MB: not committed) and checked against sha256.txt; the bench command is printed.
set -euo pipefail
from="${1:?usage: bash tools/device/text-card-state.sh <files dir> [<results dir>]}"
root="$(git rev-parse --show-toplevel)"
res="${2:-$root/results/text/caption-card/run}"
mkdir -p "$res"
[ -f "$from/train.log" ] && cat "$from/train.log" >> "$res/train.log"
for f in metrics.jsonl plan.json result.json sha256.txt; do
  if [ -f "$from/$f" ]; then cp "$from/$f" "$res/$f"; fi
done
if compgen -G "$from/student-fp16.safetensors.part*" > /dev/null; then
  w="$root/.tmp/caption-card"
  mkdir -p "$w"
  cat "$from"/student-fp16.safetensors.part* > "$w/student-fp16.safetensors"
  want=$(awk '$2 == "student-fp16.safetensors" { print $1 }' "$from/sha256.txt")
  got=$(sha256sum "$w/student-fp16.safetensors" | awk '{ print $1 }')
  if [ "$want" != "$got" ]; then
    echo "text-card-state: sha256 of the joined parts is $got, the device wrote $want: the parts are incomplete" >&2
    exit 1
  fi
  echo "text-card-state: $w/student-fp16.safetensors (sha256 $got, as on the device)"
  echo "text-card-state: next: node packages/bench/bin/geolip-bench.mjs run --model $w/student-fp16.safetensors --tasks stsb,sick,mrpc --data ../shared/data"
fi
echo "text-card-state: $res: $(ls "$res" | tr '\n' ' ')"
