// Compact checkpoints (F16 weights, no optimizer state): the save/load round trip against a hand float16 rounding,
// overflow and NaN refused by name, shards, version-1 checkpoints still loading, full → compact conversion, and
// train()'s resume from one (fresh AdamW, learning-rate re-warm-up, weights as stored).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FormatError, InvalidArgumentError, NonFiniteError } from '@geolip/geometry';
import { readSafetensors, writeSafetensors } from '@geolip/io';
import { describe, expect, it } from 'vitest';

import {
  CHECKPOINT_VERSION,
  compactCheckpoint,
  Float16OverflowError,
  loadCheckpoint,
  saveCheckpoint,
} from '../../src/checkpoint/index.js';
import type { CheckpointData, JsonValue } from '../../src/checkpoint/index.js';
import { train, warmupCosine } from '../../src/loop/index.js';
import type { TrainRecord } from '../../src/loop/index.js';
import { isCpu, makeBatch, makeModel, snapshot } from '../loop/helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'geolip-compact-'));

/**
 * The float16 nearest to `x` (ties to even), written independently of `@geolip/io`: a float16 has 11 significant bits
 * above 2^−14 and a fixed step of 2^−24 below; beyond 65504 it overflows (null).
 */
function handF16(x: number): number | null {
  const f = Math.fround(x);
  if (f === 0) return f;
  const a = Math.abs(f);
  const ulp = a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
  const q = a / ulp; // exact: a power-of-two scaling
  let n = Math.floor(q);
  if (q - n > 0.5 || (q - n === 0.5 && n % 2 === 1)) n += 1;
  const r = n * ulp;
  if (r > 65504) return null;
  return Math.sign(f) * r;
}

const state = (seed = 5): CheckpointData['rng'] => ({ seed, state: [1, 2, 3, 4] });

/** Values that exercise the rounding: ties, subnormals, the range's edge. */
const TRICKY = Float32Array.from([
  0,
  -0,
  1,
  1 / 3,
  -2.5e-3,
  1 + 2 ** -11, // a tie: rounds to even (1)
  1 + 3 * 2 ** -11, // a tie: rounds up to even
  2 ** -24, // smallest subnormal
  3e-8, // rounds to 2^-24
  2e-8, // below 2^-25: rounds to 0
  6.1e-5, // subnormal range
  65504,
  65519.99, // rounds down to 65504
  -65504,
  1234.567,
  -0.1,
]);

describe('compact checkpoints: save and load', () => {
  it('store F16 weights equal to a hand float16 rounding, no moments, and the step, RNG, config and extra', () => {
    const dir = tmp();
    const r = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 9) - 4));
    const weights = { tricky: { shape: [4, 4], data: TRICKY }, 'b.w': { shape: [3, 100], data: r } };
    const extra: JsonValue = { user: { queue: [1, 2] } };
    const written = saveCheckpoint(
      dir,
      { weights, optimizer: null, step: 42, rng: state(), config: { a: 1 }, extra },
      { compact: true },
    );
    expect(readdirSync(written).sort()).toEqual(['state.json', 'weights.safetensors']);
    const json = JSON.parse(readFileSync(join(written, 'state.json'), 'utf8'));
    expect(json).toMatchObject({ version: CHECKPOINT_VERSION, compact: true, step: 42, config: { a: 1 }, extra });
    expect(json.optimizerStep).toBeUndefined();
    // 2 bytes a parameter, plus the header.
    const bytes = statSync(join(written, 'weights.safetensors')).size;
    expect(bytes - 2 * (16 + 300)).toBeGreaterThan(0);
    expect(bytes - 2 * (16 + 300)).toBeLessThan(400);
    const stored = readSafetensors(readFileSync(join(written, 'weights.safetensors')));
    expect(stored.tensors.tricky!.dtype).toBe('F16');

    const ck = loadCheckpoint(dir);
    expect(ck.compact).toBe(true);
    expect(ck.optimizer).toBeNull();
    expect(ck).toMatchObject({ step: 42, rng: state(), config: { a: 1 }, extra });
    for (const [name, w] of Object.entries(weights)) {
      expect(ck.weights[name]!.shape).toEqual(w.shape);
      expect(Array.from(ck.weights[name]!.data)).toEqual(Array.from(w.data, (x) => handF16(x)));
    }
    // The hand-rounded values of the edge cases, spelled out.
    expect(Array.from(ck.weights.tricky!.data.slice(5, 13))).toEqual([
      1,
      1 + 2 ** -9,
      2 ** -24,
      2 ** -24,
      0,
      handF16(6.1e-5),
      65504,
      65504,
    ]);
  });

  it('refuse a weight that overflows float16, naming the parameter, and write nothing', () => {
    const dir = tmp();
    const data = (x: number): CheckpointData => ({
      weights: {
        ok: { shape: [2], data: Float32Array.from([1, 2]) },
        'l2.weight': { shape: [3], data: Float32Array.from([1, x, -x]) },
      },
      optimizer: null,
      step: 1,
      rng: state(),
    });
    let error: unknown;
    try {
      saveCheckpoint(dir, data(65520), { compact: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Float16OverflowError);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ parameter: 'l2.weight', count: 2, firstIndex: 1, value: 65520 });
    expect((error as Error).message).toMatch(
      /^saveCheckpoint: 'data.weights' parameter 'l2.weight' has 2 value\(s\) outside float16's range ±65504 \(first 65520 at flat index 1\)/,
    );
    expect(() => saveCheckpoint(dir, data(NaN), { compact: true })).toThrow(NonFiniteError);
    expect(() => saveCheckpoint(dir, data(Infinity), { compact: true })).toThrow(
      /data.weights\['l2.weight'\]' has 2 non-finite/,
    );
    expect(existsSync(join(dir, 'latest.json'))).toBe(false);
    // The same weights fit a full checkpoint; the full one needs the optimizer state.
    expect(() => saveCheckpoint(dir, data(65520))).toThrow(/'data.optimizer' is required for a full checkpoint/);
  });

  it('split the weights into files of at most shardBytes, which load as one', () => {
    const dir = tmp();
    const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (let p = 0; p < 6; p++)
      weights[`p${p}`] = { shape: [200], data: Float32Array.from({ length: 200 }, (_, i) => (i - p) / 7) };
    const written = saveCheckpoint(
      dir,
      { weights, optimizer: null, step: 3, rng: state() },
      { compact: true, shardBytes: 1024 },
    );
    const files = readdirSync(written).filter((f) => f.endsWith('.safetensors'));
    expect(files.length).toBeGreaterThan(1);
    expect(files[0]).toBe(`weights-00001-of-${String(files.length).padStart(5, '0')}.safetensors`);
    for (const f of files) expect(statSync(join(written, f)).size).toBeLessThanOrEqual(1024);
    const ck = loadCheckpoint(dir);
    for (const [name, w] of Object.entries(weights))
      expect(Array.from(ck.weights[name]!.data)).toEqual(Array.from(w.data, (x) => handF16(x)));
    // A parameter that does not fit one file on its own is refused by name.
    const big = { big: { shape: [600], data: new Float32Array(600) } };
    expect(() =>
      saveCheckpoint(
        tmp(),
        { weights: big, optimizer: null, step: 1, rng: state() },
        { compact: true, shardBytes: 1024 },
      ),
    ).toThrow(/'options.shardBytes' is 1024 bytes, but parameter 'big' alone takes \d+ as F16/);
  });

  it('refuse a compact file whose weights are not F16, or a truncated shard', () => {
    const dir = tmp();
    const written = saveCheckpoint(
      dir,
      { weights: { w: { shape: [2], data: Float32Array.from([1, 2]) } }, optimizer: null, step: 1, rng: state() },
      { compact: true },
    );
    const f32 = writeSafetensors({ w: { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) } });
    const json = JSON.parse(readFileSync(join(written, 'state.json'), 'utf8'));
    json.files['weights.safetensors'] = f32.byteLength;
    writeFileSync(join(written, 'state.json'), JSON.stringify(json));
    writeFileSync(join(written, 'weights.safetensors'), f32);
    expect(() => loadCheckpoint(dir)).toThrow(/tensor 'w' must be F16, got F32/);
    json.files['weights.safetensors'] = f32.byteLength + 8;
    writeFileSync(join(written, 'state.json'), JSON.stringify(json));
    expect(() => loadCheckpoint(dir)).toThrow(FormatError);
  });
});

describe('full checkpoints', () => {
  it('are still written as version 1, unchanged', () => {
    const dir = tmp();
    const w = Float32Array.from([0.1, 0.2]);
    const written = saveCheckpoint(dir, {
      weights: { w: { shape: [2], data: w } },
      optimizer: { step: 7, m: { w: new Float32Array(2) }, v: { w: new Float32Array(2) }, shapes: { w: [2] } },
      step: 1,
      rng: state(),
    });
    const json = JSON.parse(readFileSync(join(written, 'state.json'), 'utf8'));
    expect(json.version).toBe(1);
    expect(json.compact).toBeUndefined();
    expect(json.params).toEqual([{ name: 'w', shape: [2] }]);
    expect(readdirSync(written).sort()).toEqual(['state.json', 'state.safetensors', 'weights.safetensors']);
  });

  it('written by an earlier release (version 1, by hand) load with their optimizer state', () => {
    const dir = join(tmp(), 'step-000000005');
    mkdirSync(dir, { recursive: true });
    const w = Float32Array.from([0.1, -0.2, 0.3]);
    const m = Float32Array.from([1e-3, 2e-3, 3e-3]);
    const v = Float32Array.from([1e-6, 2e-6, 3e-6]);
    const weights = writeSafetensors({ w: { dtype: 'F32', shape: [3], data: w } }, { format: 'pt' });
    const moments = writeSafetensors({
      'm.w': { dtype: 'F32', shape: [3], data: m },
      'v.w': { dtype: 'F32', shape: [3], data: v },
    });
    writeFileSync(join(dir, 'weights.safetensors'), weights);
    writeFileSync(join(dir, 'state.safetensors'), moments);
    writeFileSync(
      join(dir, 'state.json'),
      JSON.stringify({
        format: 'geolip-train-checkpoint',
        version: 1,
        step: 5,
        optimizerStep: 5,
        rng: { seed: 1, state: [9, 8, 7, 6] },
        config: null,
        extra: null,
        params: [{ name: 'w', shape: [3] }],
        files: { 'weights.safetensors': weights.byteLength, 'state.safetensors': moments.byteLength },
      }),
    );
    const ck = loadCheckpoint(dir);
    expect(ck.compact).toBe(false);
    if (ck.compact) return;
    expect(ck.optimizer.step).toBe(5);
    expect(Array.from(ck.weights.w!.data)).toEqual(Array.from(w));
    expect(Array.from(ck.optimizer.m.w!)).toEqual(Array.from(m));
    expect(Array.from(ck.optimizer.v.w!)).toEqual(Array.from(v));
  });
});

const common = {
  data: (_s: number, rng: Parameters<typeof makeBatch>[0]) => makeBatch(rng),
  optimizer: { lr: 1e-2, weightDecay: 0.1 },
  schedule: warmupCosine({ warmupSteps: 3, totalSteps: 20, peakLr: 1e-2 }),
  clipNorm: 1,
  seed: 11,
  config: { hidden: 8 },
};

describe('compactCheckpoint', () => {
  it('copies a full checkpoint as a compact one (same step, RNG, extra; F16 weights) and refuses its own root', async () => {
    const full = tmp();
    const a = makeModel(31);
    await train({ ...common, model: a, steps: 6, checkpoint: { dir: full, every: 3 }, extraState: () => ({ n: 6 }) });
    const trained = snapshot(a.vars);
    a.dispose();
    const out = join(tmp(), 'compact');
    const result = compactCheckpoint(full, out);
    expect(result.step).toBe(6);
    expect(result.from).toMatch(/step-000000006$/);
    expect(Object.keys(result.files).sort()).toEqual(['state.json', 'weights.safetensors']);
    const src = loadCheckpoint(full);
    const ck = loadCheckpoint(out);
    expect(ck).toMatchObject({ compact: true, optimizer: null, step: 6, rng: src.rng, config: src.config });
    expect(ck.extra).toEqual(src.extra);
    for (const [name, w] of Object.entries(trained))
      expect(Array.from(ck.weights[name]!.data)).toEqual(Array.from(w, (x) => handF16(x)));
    // A fraction of the full checkpoint's bytes: 2 per parameter instead of 4 + 8 (weights + moments).
    const size = (d: string) =>
      readdirSync(d)
        .filter((f) => f.endsWith('.safetensors'))
        .reduce((s, f) => s + statSync(join(d, f)).size, 0);
    expect(size(ck.dir)).toBeLessThan(size(src.dir) / 3);
    expect(() => compactCheckpoint(full, full)).toThrow(/'to' is the checkpoint root being read/);
  });
});

describe('train() resumed from a compact checkpoint', () => {
  it('starts AdamW fresh, re-warms the learning rate over R steps and starts from the stored weights', async () => {
    const full = tmp();
    const a = makeModel(41);
    await train({ ...common, model: a, steps: 10, checkpoint: { dir: full, every: 10 } });
    a.dispose();
    const compact = join(tmp(), 'ck');
    compactCheckpoint(full, compact);
    const stored = loadCheckpoint(compact).weights;

    const R = 4;
    const after = tmp();
    const records: TrainRecord[] = [];
    const b = makeModel(97); // another init: the weights must come from the checkpoint
    let first: Record<string, Float32Array> | undefined;
    const s = await train({
      ...common,
      model: b,
      steps: 20,
      resumeFrom: compact,
      rewarmSteps: R,
      data: (step, rng) => {
        first ??= snapshot(b.vars); // before the first update of the resumed run
        return common.data(step, rng);
      },
      checkpoint: { dir: after, every: 1, keep: 20 },
      log: (r) => records.push(r),
    });
    const resumedFinal = snapshot(b.vars);
    b.dispose();
    expect(s).toMatchObject({ step: 20, stepsRun: 10 });
    for (const [name, w] of Object.entries(stored)) expect(Array.from(first![name]!)).toEqual(Array.from(w.data));

    expect(records[0]).toEqual({
      type: 'resume',
      step: 10,
      dir: join(compact, 'step-000000010'),
      compact: true,
      rewarm: { from: 10, steps: R },
    });
    const lrs = records.flatMap((r) => (r.type === 'step' ? [[r.step, r.lr]] : []));
    expect(lrs.map(([st]) => st)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    // Step record `st` is optimizer step st − 1: lr = schedule(st − 1) · k/R for the k-th step after the resume.
    for (const [st, lr] of lrs) {
      const k = st! - 10;
      const want = common.schedule(st! - 1) * (k <= R ? k / R : 1);
      expect(lr).toBeCloseTo(want, 12);
    }
    expect(lrs[0]![1]).toBeCloseTo(common.schedule(10) / R, 12);

    // AdamW's step count restarted at 0: the full checkpoints of the resumed run count from 1.
    const at = (step: number) => loadCheckpoint(join(after, `step-${String(step).padStart(9, '0')}`));
    const c11 = at(11);
    const c20 = at(20);
    expect(c11.compact || c20.compact).toBe(false);
    if (c11.compact || c20.compact) return;
    expect(c11.optimizer.step).toBe(1);
    expect(c20.optimizer.step).toBe(10);
    expect(c11.extra).toMatchObject({ __rewarm: { from: 10, steps: R } });
    expect(c20.extra).not.toHaveProperty('__rewarm'); // over by then

    // A full checkpoint saved during the re-warm-up continues it exactly.
    const c = makeModel(5);
    const continued: TrainRecord[] = [];
    await train({
      ...common,
      model: c,
      steps: 20,
      resumeFrom: at(12).dir,
      rewarmSteps: 50,
      log: (r) => continued.push(r),
    });
    const got = snapshot(c.vars);
    c.dispose();
    expect(continued[0]).toMatchObject({ type: 'resume', step: 12, compact: false, rewarm: { from: 10, steps: R } });
    const steps2 = continued.flatMap((r) => (r.type === 'step' ? [r.lr] : []));
    expect(steps2).toEqual(lrs.slice(2).map(([, lr]) => lr));
    for (const n of Object.keys(resumedFinal)) {
      if (isCpu()) expect(Array.from(got[n]!)).toEqual(Array.from(resumedFinal[n]!));
      else for (let i = 0; i < got[n]!.length; i++) expect(got[n]![i]).toBeCloseTo(resumedFinal[n]![i]!, 4);
    }
  });

  it('writes compact checkpoints with checkpoint.compact; rewarmSteps 0 keeps the schedule', async () => {
    const dir = tmp();
    const a = makeModel(43);
    await train({ ...common, model: a, steps: 4, checkpoint: { dir, every: 2, compact: true } });
    a.dispose();
    const ck = loadCheckpoint(dir);
    expect(ck).toMatchObject({ compact: true, step: 4, optimizer: null });
    expect(readdirSync(ck.dir).sort()).toEqual(['state.json', 'weights.safetensors']);

    const b = makeModel(44);
    const records: TrainRecord[] = [];
    await train({ ...common, model: b, steps: 6, resumeFrom: dir, rewarmSteps: 0, log: (r) => records.push(r) });
    b.dispose();
    expect(records[0]).toMatchObject({ type: 'resume', compact: true, rewarm: null });
    const lrs = records.flatMap((r) => (r.type === 'step' ? [r.lr] : []));
    expect(lrs).toEqual([common.schedule(4), common.schedule(5)]);

    const c = makeModel(45);
    await expect(train({ ...common, model: c, steps: 6, rewarmSteps: -1 })).rejects.toThrow(/'options.rewarmSteps'/);
    c.dispose();
  });
});
