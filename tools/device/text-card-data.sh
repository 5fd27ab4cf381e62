#!/usr/bin/env bash
# The data folder of tools/device/train-text-card.sh, made on the CPU machine with the recipe itself:
#   bash tools/device/text-card-data.sh <run dir> <data dir>
# 1. `geolip-train run text-consensus` with the card config (CONFIG, default results/text/caption-card/config.json)
#    stopped after the consensus: <run dir>/corpus.txt (the corpus block of the config), the expert features
#    (use-lite, glove-avg; SHARDS=N runs the features in N parallel processes and merges them, as the shipped run
#    did with 2: 26 minutes on the 2 shared cores here) and <run dir>/consensus.safetensors. An existing stage is kept.
# 2. <data dir>/corpus.txt.xz and <data dir>/consensus-f16.safetensors.xz: the targets in F16 (a quarter of the F64
#    file) and both xz-compressed, so the data (~28 MB) travels beside the pack (~27 MB) in the 64 MiB carry.
# Needs the Debian text packages (tools/setup/text-corpus.sh) and the built packages (npm run build).
set -euo pipefail
run="${1:?usage: bash tools/device/text-card-data.sh <run dir> <data dir>}"
data="${2:?usage: bash tools/device/text-card-data.sh <run dir> <data dir>}"
config="${CONFIG:-results/text/caption-card/config.json}"
shards="${SHARDS:-1}"
bin=packages/recipes/bin/geolip-train.mjs
mkdir -p "$run" "$data"
run="$(cd "$run" && pwd)"
# The config beside the run, stopped after the consensus; its relative paths resolved against the config's folder.
python3 - "$config" "$run/prep.json" <<'PY'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
base = os.path.dirname(os.path.abspath(src))
c = json.load(open(src))
corpus = c.setdefault('corpus', {})
for k in ('file', 'data', 'wordnet', 'fortunes'):
    if isinstance(corpus.get(k), str):
        corpus[k] = os.path.normpath(os.path.join(base, corpus[k]))
corpus.setdefault('data', os.path.normpath(os.path.join(base, '../shared/data')))
for block in ('features', 'expertModules'):
    for k, v in c.get(block, {}).items():
        c[block][k] = os.path.normpath(os.path.join(base, v))
if isinstance(c.get('consensus', {}).get('file'), str):
    c['consensus']['file'] = os.path.normpath(os.path.join(base, c['consensus']['file']))
c['stopAfter'] = 'consensus'
json.dump(c, open(dst, 'w'), indent=2)
c['stopAfter'] = 'corpus'
json.dump(c, open(dst.replace('prep.json', 'prep-corpus.json'), 'w'), indent=2)
PY
if [ ! -f "$run/consensus.safetensors" ] && [ "$shards" -gt 1 ]; then
  node "$bin" run text-consensus --config "$run/prep-corpus.json" --out "$run"   # the corpus, once, before the shards
  pids=()
  for i in $(seq 0 $((shards - 1))); do
    node "$bin" run text-consensus --config "$run/prep.json" --out "$run" --shard "$i/$shards" > "$run/shard-$i.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  node "$bin" merge text-consensus --config "$run/prep.json" --out "$run"
else
  node "$bin" run text-consensus --config "$run/prep.json" --out "$run"
fi
node --input-type=module - "$run/consensus.safetensors" "$run/consensus-f16.safetensors" <<'JS'
import { readFileSync, writeFileSync } from 'node:fs';
import { loadConsensus, saveConsensus } from '@geolip/train';
const [src, dst] = process.argv.slice(2);
const model = loadConsensus(readFileSync(src));
writeFileSync(dst, saveConsensus(model, { targetsDtype: 'F16' }));
const d = model.diagnostics;
console.log(
  `consensus: ${model.targets.rows} x ${model.targets.cols}, experts ${model.experts.join(', ')}, ` +
    `CV ${d.consensusCV.toFixed(4)} -> ${dst}`,
);
JS
xz -T2 -6 -c "$run/corpus.txt" > "$data/corpus.txt.xz"
xz -T2 -6 -c "$run/consensus-f16.safetensors" > "$data/consensus-f16.safetensors.xz"
du -sh "$data"/* | sed 's/^/text-card-data: /'
