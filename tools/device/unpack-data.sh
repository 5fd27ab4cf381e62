#!/usr/bin/env bash
# Copies data files into a folder, decompressing `.xz` ones (xz keeps the carried data small): an existing output is
# kept, so a later device call on the same machine does not unpack again.
#   bash tools/device/unpack-data.sh <from dir> <to dir>
set -euo pipefail
src="${1:?usage: unpack-data.sh <from dir> <to dir>}"
dst="${2:?usage: unpack-data.sh <from dir> <to dir>}"
mkdir -p "$dst"
for f in "$src"/*; do
  case "$f" in
    *.xz) out="$dst/$(basename "$f" .xz)"; [[ -f "$out" ]] || { xz -dc "$f" > "$out.tmp" && mv "$out.tmp" "$out"; } ;;
    *) cp -n "$f" "$dst/" ;;
  esac
done
