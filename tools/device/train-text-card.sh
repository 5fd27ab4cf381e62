#!/usr/bin/env bash
# CaptionBERT at the card's size (issue 22): `geolip-train run text-consensus` with results/text/caption-card/config.json
# (25,958,016 parameters; InfoNCE + MSE + 0.1·CV, batch 128, lr 3e-4) on the GPU machine, as ONE run that continues
# across CALLS device calls of one lease. From the repository root on the GPU machine:
#   bash tools/device/train-text-card.sh <data dir>            (the first call)
#   RESUME=1 bash tools/device/train-text-card.sh <data dir>   (every later call: the script prints this line)
# <data dir> holds corpus.txt.xz and consensus-f16.safetensors.xz (tools/device/text-card-data.sh makes it).
# Each call ends with one line `NEXT: …` that says what to do: call again (and with what), or done.
#
# How the calls fit together:
# - State lives under STATE (default /tmp/geolip-textcard) on the machine, outside the working tree (each call copies
#   the tree afresh; /tmp stays while the lease is warm): the unpacked data, the run config, the plan, the full
#   checkpoints (F32 weights + AdamW moments, ~311 MB each; exact resume) and the logs.
# - The first call probes: PROBE_STEPS (default 40) steps of the real config measure the seconds per step (the first 10
#   skipped: shader compilation) and the fixed cost of a call (start, tokenizing, loading; writing the outputs). It then
#   sets `steps` so the schedule ends in call CALLS (default 3): the training time of every call, at the probed rate,
#   less 5% for evaluations and checkpoints, and never more than the config's own `steps` (the card's 30 epochs);
#   `warmupSteps` becomes min(the config's 1,000, steps/10). The plan is written once: the config is compared on resume.
# - Every call trains with `--time-limit` (BUDGET seconds of the call, default 500 of the device's 600, less what the
#   call has used and RESERVE, default 40 s, for the checkpoint that the stop writes) and resumes exactly the next time.
# - The call numbered CALLS (or a later one) must finish: it passes `--steps` = what fits at the rate measured so far
#   (reaching the planned end when the plan holds; an earlier stop otherwise, said in the log), keeping RESERVE_LAST
#   (default 90 s) for the last evaluation and the weights. If it is still stopped by the time limit, the weights of
#   the checkpoint are written by a second, zero-step run (`--resume --steps <checkpoint step>`) when the call's
#   HARD limit (default 580 s, the device's 600 less 20) leaves the time for it.
# - It returns (at most 8 files of 16 MiB): the fp16 weights in 15 MiB parts (student-fp16.safetensors.partNN), their
#   sha256 and the fp32 file's (sha256.txt), metrics.jsonl, train.log and result.json (plan, steps, fidelity: v_cos,
#   R@1 and CV on the 2,000 held-out sentences). Earlier calls return train.log, metrics.jsonl and plan.json.
#   tools/device/text-card-state.sh puts the returned files together on the CPU machine.
# Device time: a session has 30 minutes, the machine's start (1–2 min) and each call's transfer (~55 MB up) included,
# and the machine goes back 30 s after a call: CALLS × (BUDGET + ~30 s) + ~2 min must fit what `status` says is left
# (3 × 500 s: about 28 minutes). Fewer minutes: fewer CALLS, or a smaller BUDGET.
# If the machine was given back between calls, its /tmp is gone: a call with RESUME=1 then stops at once and says so
# (start again without RESUME=1 and with the CALLS the session can still pay for).
#
# Environment: FRESH=1 (forget a run left on the machine), CALLS (3), BUDGET (500), RESERVE (40), RESERVE_LAST (90),
# HARD (580), PROBE_STEPS (40), BACKEND (webgpu), CONFIG (results/text/caption-card/config.json), CV_TARGET
# ("consensus": drop the config's cvTarget, so the CV term pulls toward the consensus's own CV; a number: that
# target), STATE (/tmp/geolip-textcard), PACK (.device/tc), PACK_APP (the entry's name in a pack of several programs).
#
# CPU machine, before the first call (docs/gpu-machine.md, packages/text/README.md):
#   npm run build && node tools/device/pack.mjs packages/recipes/bin/geolip-train.mjs --out .device/tc
#   bash tools/device/text-card-data.sh .tmp/tcard-run .tmp/tcard        (corpus, features, consensus; ~26 min)
#   KEEP="tools/device/ results/text/caption-card/ packages/text/vocab/" bash tools/device/carry-slim.sh hide
#   (pack afresh if the pack was run here: run.sh unpacks the bundle and Dawn beside itself, 27 → 57 MB)
#   run: bash tools/device/train-text-card.sh .tmp/tcard       carry: [".device/tc", ".tmp/tcard"]
#   run: RESUME=1 bash tools/device/train-text-card.sh .tmp/tcard   (again, within 30 s: the machine goes back when idle)
#   bash tools/device/carry-slim.sh restore
#   bash tools/device/text-card-state.sh <the last call's files dir>
set -euo pipefail
data="${1:?usage: [RESUME=1] [CALLS=3] bash tools/device/train-text-card.sh <data dir>}"
OUT="${OUT:?OUT must be set}"
start=$(date +%s)
calls="${CALLS:-3}"
# A later call keeps the first call's CALLS unless CALLS is given again.
if [ -z "${CALLS:-}" ] && [ -f "${STATE:-/tmp/geolip-textcard}/plan.json" ]; then
  calls=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["calls"])' "${STATE:-/tmp/geolip-textcard}/plan.json")
fi
budget="${BUDGET:-500}"
reserve="${RESERVE:-40}"
reserve_last="${RESERVE_LAST:-90}"
probe_steps="${PROBE_STEPS:-40}"
hard="${HARD:-580}"
backend="${BACKEND:-webgpu}"
config="${CONFIG:-results/text/caption-card/config.json}"
state="${STATE:-/tmp/geolip-textcard}"
pack="${PACK:-.device/tc}"
app="${PACK_APP:-}"
log="$OUT/train.log"
me="bash tools/device/train-text-card.sh $data"
say() { echo "$*" | tee -a "$log"; }
elapsed() { echo $(($(date +%s) - start)); }
latest_step() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["step"])' "$state/run/checkpoints/latest.json" 2>/dev/null || echo 0; }
train() { bash "$pack/run.sh" $app run text-consensus "$@"; }

# FRESH=1 forgets a run left on this machine (its state, checkpoints included) and starts again.
if [ "${FRESH:-0}" = 1 ]; then rm -rf "$state"; fi
# The bundled tokenizer looks for its vocabulary beside the pack (<pack>/../vocab).
mkdir -p "$pack/../vocab" && cp packages/text/vocab/bert-base-uncased-vocab.txt "$pack/../vocab/"
: > "$log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$log" 2>/dev/null || true

if [ -f "$state/done.json" ]; then
  say "train-text-card: the run in $state is finished already; returning its files again"
elif [ ! -f "$state/plan.json" ]; then
  if [ "${RESUME:-0}" = 1 ]; then
    say "train-text-card: RESUME=1 but $state holds no run: the machine was given back between calls and its /tmp is gone"
    say "NEXT: start again: CALLS=<the calls this session can still pay for> $me   (no RESUME; a fresh run)"
    exit 3
  fi
  # ---- first call: data, config, probe, plan -------------------------------------------------------------------
  [ -f "$config" ] || { say "NEXT: no config $config in the tree: carry it (KEEP of carry-slim.sh) or set CONFIG"; exit 2; }
  for f in corpus.txt consensus-f16.safetensors; do
    [ -f "$data/$f.xz" ] || [ -f "$data/$f" ] || { say "NEXT: $data has no $f(.xz): carry the data folder"; exit 2; }
  done
  rm -rf "$state" && mkdir -p "$state"
  bash tools/device/unpack-data.sh "$data" "$state/data"
  python3 - "$config" "$state" "${CV_TARGET:-}" <<'PY'
import json, sys
src, state, cv = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(src))
c['corpus'] = {'file': f'{state}/data/corpus.txt'}
c['consensus'] = {'file': f'{state}/data/consensus-f16.safetensors'}
c.pop('stopAfter', None)
if cv == 'consensus':
    c.pop('cvTarget', None)
elif cv != '':
    c['cvTarget'] = float(cv)
json.dump(c, open(f'{state}/base.json', 'w'), indent=2)
PY
  python3 - "$state/base.json" "$state/probe.json" "$probe_steps" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); n = int(sys.argv[3])
c.update(steps=n, warmupSteps=min(10, n), evalEvery=n, checkpointEvery=n, valSize=256)
json.dump(c, open(sys.argv[2], 'w'))
PY
  say "train-text-card: call 1 of $calls; probing $probe_steps steps on $backend ($config)"
  p0=$(date +%s)
  set +e
  train --config "$state/probe.json" --out "$state/probe" --backend "$backend" > "$state/probe.log" 2>&1
  rc=$?
  set -e
  probe_wall=$(($(date +%s) - p0))
  tr '\r' '\n' < "$state/probe.log" | grep -v '^step ' | grep -v '^train ' >> "$log" || true
  if [ $rc -ne 0 ]; then
    tail -20 "$state/probe.log"
    say "NEXT: the probe failed (exit $rc; train.log has its output): fix it, then start again ($me)"
    rm -f "$state/plan.json"
    exit $rc
  fi
  python3 - "$state" "$calls" "$budget" "$(elapsed)" "$probe_wall" "$reserve" "$reserve_last" <<'PY' | tee -a "$log"
import json, sys
state, calls, budget, used, probe_wall, reserve, reserve_last = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
recs = [json.loads(l) for l in open(f'{state}/probe/metrics.jsonl')]
steps = [r for r in recs if r['type'] == 'step']
skip = min(10, len(steps) // 2)
a, b = steps[skip - 1] if skip > 0 else {'step': 0, 'elapsedMs': 0}, steps[-1]
per_step = (b['elapsedMs'] - a['elapsedMs']) / 1000 / (b['step'] - a['step'])
# The fixed cost of a call: everything of the probe's wall time that was not its steps (start, tokenizing, loading the
# consensus, building the model; the last evaluation and writing the weights).
setup = max(5.0, probe_wall - b['elapsedMs'] / 1000)
c = json.load(open(f'{state}/base.json'))
rows = sum(1 for _ in open(c['corpus']['file'], encoding='utf8'))
train_rows = rows - c.get('valSize', 2000)
tl = [budget - used - reserve] + [budget - 10 - reserve] * (calls - 2) + ([budget - 10 - reserve_last] if calls > 1 else [])
if calls == 1:
    tl = [budget - used - reserve_last]
train_s = sum(max(0.0, t - setup) for t in tl)
fit = int(train_s / (per_step * 1.05))
card_steps = c['steps']
steps_n = max(1, min(card_steps, fit))
warm = min(c.get('warmupSteps', 300), max(1, steps_n // 10))
c['steps'] = steps_n
c['warmupSteps'] = warm
c['evalEvery'] = max(1, min(c.get('evalEvery', 500), steps_n // 5 or 1))
c['checkpointEvery'] = max(1, min(c.get('checkpointEvery', 500), steps_n // 4 or 1))
json.dump(c, open(f'{state}/run.json', 'w'), indent=2)
batch = c.get('batchSize', 256)
plan = {
    'calls': calls, 'budgetPerCall': budget, 'probe': {'steps': b['step'], 'secondsPerStep': per_step,
    'wall': probe_wall, 'fixedPerCall': setup}, 'timeLimits': tl, 'trainingSeconds': train_s,
    'steps': steps_n, 'configSteps': card_steps, 'warmupSteps': warm, 'evalEvery': c['evalEvery'],
    'checkpointEvery': c['checkpointEvery'], 'batchSize': batch, 'trainRows': train_rows,
    'epochs': steps_n * batch / train_rows, 'configEpochs': card_steps * batch / train_rows,
    'cvTarget': c.get('cvTarget', 'the consensus CV'),
}
json.dump(plan, open(f'{state}/plan.json', 'w'), indent=2)
print(f"plan: probe {per_step * 1000:.1f} ms/step, {setup:.0f} s fixed a call; {calls} call(s) give {train_s:.0f} s "
      f"of training -> steps {steps_n} (config {card_steps}), {plan['epochs']:.2f} epochs of {train_rows} sentences "
      f"(config {plan['configEpochs']:.1f}), warm-up {warm}, eval every {c['evalEvery']}, checkpoint every "
      f"{c['checkpointEvery']}")
PY
  rm -rf "$state/probe"
fi

# ---- every call: train until the time limit (or the end), then say what comes next --------------------------------
if [ ! -f "$state/done.json" ]; then
  n=$(($(cat "$state/calls" 2>/dev/null || echo 0) + 1))
  echo "$n" > "$state/calls"
  planned=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"])' "$state/plan.json")
  ck=$(latest_step)
  resume=()
  [ -f "$state/run/checkpoints/latest.json" ] && resume=(--resume)
  last=false
  [ "$n" -ge "$calls" ] && last=true
  if $last; then tl=$((budget - $(elapsed) - reserve_last)); else tl=$((budget - $(elapsed) - reserve)); fi
  fixed=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["probe"]["fixedPerCall"]))' "$state/plan.json")
  if [ "$tl" -le $((fixed + 5)) ]; then
    echo $((n - 1)) > "$state/calls"
    say "NEXT: call again: RESUME=1 $me   (this call had only $tl s left after its start: nothing trained; the run is at step $ck of $planned)"
    exit 75
  fi
  cap=()
  if $last; then
    # What fits at the rate measured so far (the earlier calls', else the probe's).
    stop=$(python3 - "$state" "$ck" "$planned" "$tl" <<'PY'
import json, sys
state, ck, planned, tl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
p = json.load(open(f'{state}/plan.json'))
rate = p['probe']['secondsPerStep']
try:
    rate = max(rate, float(open(f'{state}/rate.txt').read()))
except OSError:
    pass
print(max(ck, min(planned, ck + int((tl - p['probe']['fixedPerCall']) / (rate * 1.05)))))
PY
)
    cap=(--steps "$stop")
    [ "$stop" -lt "$planned" ] && say "train-text-card: the planned $planned steps do not fit this last call: it stops at step $stop (the learning rate has not decayed to its end)"
  fi
  say "train-text-card: call $n of $calls; ${resume[*]:-fresh start} at step $ck of $planned; time limit $tl s${cap:+; --steps ${cap[1]}}"
  set +e
  train --config "$state/run.json" --out "$state/run" --backend "$backend" --time-limit "$tl" "${resume[@]}" "${cap[@]}" > "$state/call-$n.log" 2>&1
  rc=$?
  set -e
  tr '\r' '\n' < "$state/call-$n.log" | grep -v '^step ' | grep -v '^train ' >> "$log" || true
  # This call's seconds per step (its step records after its resume record), for the next call's last-call plan.
  python3 - "$state/run/metrics.jsonl" "$state/rate.txt" <<'PY' || true
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
idx = max([i for i, r in enumerate(recs) if r['type'] == 'resume'] or [-1])
steps = [r for r in recs[idx + 1:] if r['type'] == 'step']
if len(steps) > 12:
    a, b = steps[10], steps[-1]
    open(sys.argv[2], 'w').write(str((b['elapsedMs'] - a['elapsedMs']) / 1000 / (b['step'] - a['step'])))
PY
  if [ $rc -eq 75 ] && $last; then
    ck=$(latest_step)
    left=$((hard - $(elapsed)))
    if [ "$left" -gt $((fixed + 10)) ]; then
      say "train-text-card: stopped by the time limit at step $ck; writing the weights of that checkpoint (--steps $ck)"
      set +e
      train --config "$state/run.json" --out "$state/run" --backend "$backend" --resume --steps "$ck" > "$state/finish.log" 2>&1
      rc=$?
      set -e
      tr '\r' '\n' < "$state/finish.log" | grep -v '^step ' | grep -v '^train ' >> "$log" || true
    fi
  fi
  cp "$state/run/metrics.jsonl" "$OUT/metrics.jsonl" 2>/dev/null || true
  ck=$(latest_step)
  if [ $rc -eq 0 ] && [ -f "$state/run/student-fp16.safetensors" ]; then
    python3 - "$state" "$rc" <<'PY'
import json, struct, sys
state = sys.argv[1]
with open(f'{state}/run/student-fp16.safetensors', 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    meta = json.loads(f.read(n)).get('__metadata__', {})
extra = json.loads(meta.get('geolip.extra', '{}'))
recs = [json.loads(l) for l in open(f'{state}/run/metrics.jsonl')]
evals = [r for r in recs if r['type'] == 'eval']
steps = [r for r in recs if r['type'] == 'step']
done = {
    'recipe': 'text-consensus', 'model': json.loads(meta.get('geolip.config', '{}')),
    'plan': json.load(open(f'{state}/plan.json')), 'calls': int(open(f'{state}/calls').read()),
    'steps': extra.get('steps'), 'lastLoss': steps[-1]['loss'] if steps else None,
    'fidelity': extra.get('fidelity'), 'evals': evals,
    'untrainedTokenRowsZeroed': extra.get('untrainedTokenRowsZeroed'),
    'config': json.load(open(f'{state}/run.json')),
}
json.dump(done, open(f'{state}/done.json', 'w'), indent=2)
PY
  elif [ $rc -eq 75 ]; then
    if $last; then
      say "NEXT: call again: RESUME=1 CALLS=$((n + 1)) $me   (the run stopped at step $ck of $planned without its weights; one more call finishes it)"
    else
      say "NEXT: call again (within 30 s, so the machine stays warm): RESUME=1 CALLS=$calls $me   (call $((n + 1)) of $calls resumes at step $ck of $planned)"
    fi
    cp "$state/plan.json" "$OUT/plan.json"
    echo "total $(elapsed) s, exit $rc (75: stopped at the time limit, resumable)" >> "$log"
    exit 75
  else
    tail -20 "$state/call-$n.log"
    say "NEXT: the run failed (exit $rc; train.log has its output); a call with RESUME=1 CALLS=$calls $me resumes from the checkpoint at step $ck"
    cp "$state/plan.json" "$OUT/plan.json"
    exit $rc
  fi
fi

# ---- the finished run: weights in parts, sha256, result --------------------------------------------------------------
rm -f "$OUT"/student-fp16.safetensors.part*
split -b 15M -d "$state/run/student-fp16.safetensors" "$OUT/student-fp16.safetensors.part"
(cd "$state/run" && sha256sum student-fp16.safetensors student.safetensors) > "$OUT/sha256.txt"
cp "$state/done.json" "$OUT/result.json"
cp "$state/run/metrics.jsonl" "$OUT/metrics.jsonl"
python3 - "$state/done.json" <<'PY' | tee -a "$log"
import json, sys
d = json.load(open(sys.argv[1])); f = d.get('fidelity') or {}
if d['steps'] is not None and d['steps'] < d['plan']['steps']:
    print(f"result: the run stopped before the end of its schedule (step {d['steps']} of {d['plan']['steps']}): "
          "the learning rate had not decayed to its end")
print(f"result: steps {d['steps']} of {d['plan']['steps']} in {d['calls']} call(s), last loss {d['lastLoss']:.4f}; "
      f"val v_cos {f.get('v_cos', float('nan')):.4f}, R@1 {f.get('r_at_1', float('nan')):.4f}, CV {f.get('cv', float('nan')):.4f}")
PY
say "NEXT: done: the weights are in $(ls "$OUT" | grep -c part) part(s) (student-fp16.safetensors.partNN); on the CPU machine: bash tools/device/text-card-state.sh <this call's files dir>"
echo "total $(elapsed) s" >> "$log"
