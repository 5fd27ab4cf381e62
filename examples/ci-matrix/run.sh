#!/usr/bin/env bash
# The CI-matrix recipe on one machine: SHARDS processes of `geolip-bench run --shard i/N`, side by side (in CI each is
# one matrix job), then `geolip-bench merge`, whose report equals the one a single `geolip-bench run` writes.
#
#   SHARDS=2 OUT=out/report.json examples/ci-matrix/run.sh --model glove-avg --tasks stsb,sick,mrpc --data ../shared/data
#
# Every argument goes to each `geolip-bench run`; MERGE_ARGS go to the merge (e.g. '--raw', '--plots dir').
# GEOLIP_BENCH is the command (default: npx geolip-bench).
set -euo pipefail
read -r -a BENCH <<<"${GEOLIP_BENCH:-npx geolip-bench}"
SHARDS="${SHARDS:-2}"
OUT="${OUT:-ci-matrix/report.json}"
read -r -a MERGE <<<"${MERGE_ARGS:-}"

pids=()
for ((i = 0; i < SHARDS; i++)); do
  "${BENCH[@]}" run "$@" --shard "$i/$SHARDS" --out "$OUT" &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
if [ "$status" -ne 0 ]; then
  echo "ci-matrix: a shard failed (exit $status); rerun it: finished shards are skipped" >&2
  exit "$status"
fi
"${BENCH[@]}" merge --out "$OUT" ${MERGE[@]+"${MERGE[@]}"}
