import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { NonFiniteError } from '@geolip/geometry';
import type { Rng } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import {
  AdamW,
  clipByGlobalNorm,
  formatProgress,
  train,
  TrainNonFiniteError,
  warmupCosine,
} from '../../src/loop/index.js';
import type { TrainRecord } from '../../src/loop/index.js';
import { makeBatch, makeModel, snapshot } from './helpers.js';

describe('warmupCosine', () => {
  it('matches hand-computed values', () => {
    const lr = warmupCosine({ warmupSteps: 10, totalSteps: 110, peakLr: 1e-3, minLr: 1e-4 });
    expect(lr(0)).toBeCloseTo(1e-4, 12);
    expect(lr(4)).toBeCloseTo(5e-4, 12);
    expect(lr(9)).toBeCloseTo(1e-3, 12);
    expect(lr(10)).toBeCloseTo(1e-3, 12);
    expect(lr(60)).toBeCloseTo(1e-4 + 9e-4 * 0.5, 12); // half way: cos(π/2) = 0
    expect(lr(35)).toBeCloseTo(1e-4 + 9e-4 * 0.5 * (1 + Math.cos(Math.PI / 4)), 12);
    expect(lr(110)).toBeCloseTo(1e-4, 12);
    expect(lr(500)).toBeCloseTo(1e-4, 12);
  });
  it('doc example', () => {
    const lr = warmupCosine({ warmupSteps: 10, totalSteps: 110, peakLr: 1e-3 });
    expect(lr(0)).toBeCloseTo(1e-4, 12);
    expect(lr(60)).toBeCloseTo(5e-4, 12);
    expect(lr(110)).toBeCloseTo(0, 12);
  });
  it('rejects totalSteps < warmupSteps', () => {
    expect(() => warmupCosine({ warmupSteps: 10, totalSteps: 5, peakLr: 1 })).toThrow(/options.totalSteps/);
  });
});

describe('clipByGlobalNorm', () => {
  it('caps the global norm and leaves small gradients alone', () => {
    const a = tf.tensor([3, 0]);
    const b = tf.tensor([[4]]);
    const { clipped, norm } = clipByGlobalNorm({ a, b }, 1);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 5);
    const total = Math.hypot(...clipped.a!.dataSync(), ...clipped.b!.dataSync());
    expect(total).toBeCloseTo(1, 5);
    tf.dispose([norm, ...Object.values(clipped)]);
    const small = clipByGlobalNorm({ a, b }, 10);
    expect(Array.from(small.clipped.a!.dataSync())).toEqual([3, 0]);
    tf.dispose([a, b, small.norm, ...Object.values(small.clipped)]);
  });
});

describe('AdamW', () => {
  it('doc example / first step moves each weight by about lr', () => {
    const w = tf.variable(tf.ones([2, 2]), true, `w${Math.random()}`);
    const opt = new AdamW({ w }, { weightDecay: 0 });
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(w)) as tf.Scalar, [w]);
    opt.step({ w: grads[w.name]! }, 0.1);
    tf.dispose(grads);
    for (const v of w.dataSync()) expect(v).toBeCloseTo(0.9, 5);
    opt.dispose();
    w.dispose();
  });
  it('never decays anchors; decays matrices but not biases by default', () => {
    const model = makeModel(3);
    const before = snapshot(model.vars);
    const opt = new AdamW(model.vars, { weightDecay: 0.5 });
    expect(opt.decays('anchors')).toBe(false);
    expect(opt.decays('l1.bias')).toBe(false);
    expect(opt.decays('l1.weight')).toBe(true);
    // Even a predicate that decays everything cannot decay anchors.
    const opt2 = new AdamW(model.vars, { weightDecay: 0.5, noWeightDecay: () => false });
    expect(opt2.decays('anchors')).toBe(false);
    expect(opt2.decays('l1.bias')).toBe(true);
    // Zero gradients everywhere: the Adam term is 0, so only decay can change a weight.
    const zeros = Object.fromEntries(Object.entries(model.vars).map(([n, v]) => [n, tf.zerosLike(v)]));
    opt.step(zeros, 0.1);
    tf.dispose(Object.values(zeros));
    const after = snapshot(model.vars);
    expect(Array.from(after.anchors!)).toEqual(Array.from(before.anchors!));
    expect(after['l1.weight']![0]).toBeCloseTo(before['l1.weight']![0]! * (1 - 0.05), 5);
    opt.dispose();
    opt2.dispose();
    model.dispose();
  });
  it('getState/setState round-trips', () => {
    const model = makeModel(4);
    const opt = new AdamW(model.vars);
    const { grads } = tf.variableGrads(
      () => model.loss(makeBatch(createRngFor(1)), { step: 0, micro: 0, training: true, rng: createRngFor(2) }),
      Object.values(model.vars),
    );
    opt.step(Object.fromEntries(Object.entries(model.vars).map(([n, v]) => [n, grads[v.name]!])), 0.01);
    tf.dispose(grads);
    const s = opt.getState();
    const opt2 = new AdamW(model.vars);
    opt2.setState(s);
    expect(opt2.stepCount).toBe(1);
    expect(Array.from(opt2.getState().m['l1.weight']!)).toEqual(Array.from(s.m['l1.weight']!));
    expect(() => opt2.setState({ ...s, m: {} })).toThrow(/no entry for parameter 'l1.weight'/);
    opt.dispose();
    opt2.dispose();
    model.dispose();
  });
});

import { createRng as createRngFor } from '@geolip/geometry';

describe('train', () => {
  it('decreases the loss and keeps tf.memory() flat over 100 steps', async () => {
    const model = makeModel(5);
    const counts: number[] = [];
    const losses: number[] = [];
    await train({
      model,
      data: (_s, rng) => makeBatch(rng),
      steps: 100,
      optimizer: { lr: 3e-2 },
      clipNorm: 5,
      accumulate: 2,
      seed: 7,
      log: (r) => {
        if (r.type === 'step') {
          counts.push(tf.memory().numTensors);
          losses.push(r.loss);
        }
      },
    });
    expect(counts).toHaveLength(100);
    expect(counts[99]).toBe(counts[0]);
    const head = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const tail = losses.slice(-10).reduce((a, b) => a + b) / 10;
    expect(tail).toBeLessThan(head * 0.5);
    model.dispose();
  });

  it('keeps anchors unchanged (zero gradient, no decay) while training', async () => {
    const model = makeModel(6);
    const before = snapshot(model.vars).anchors!;
    await train({
      model,
      data: (_s, rng) => makeBatch(rng),
      steps: 5,
      optimizer: { lr: 0.1, weightDecay: 0.5 },
      seed: 1,
    });
    expect(Array.from(snapshot(model.vars).anchors!)).toEqual(Array.from(before));
    model.dispose();
  });

  it('accumulation over two half batches equals one full batch', async () => {
    const run = async (accumulate: number) => {
      const model = makeModel(8);
      await train({
        model,
        steps: 3,
        accumulate,
        seed: 2,
        optimizer: { lr: 1e-2 },
        // The same 16 rows each step, split in halves when accumulating.
        data: (step, _rng, micro) => {
          const full = makeBatch(createRngFor(100 + step), 16);
          if (accumulate === 1) return full;
          return {
            x: full.x.slice(micro * 8 * 4, (micro + 1) * 8 * 4),
            y: full.y.slice(micro * 8 * 3, (micro + 1) * 8 * 3),
            n: 8,
          };
        },
      });
      const s = snapshot(model.vars);
      model.dispose();
      return s;
    };
    const one = await run(1);
    const two = await run(2);
    for (const n of Object.keys(one))
      for (let i = 0; i < one[n]!.length; i++) expect(two[n]![i]).toBeCloseTo(one[n]![i]!, 4);
  });

  it('throws TrainNonFiniteError with the step on a NaN loss', async () => {
    const model = makeModel(9);
    const bad = {
      ...model,
      loss: (b: ReturnType<typeof makeBatch>, ctx: { step: number }) =>
        ctx.step === 2
          ? tf.tidy(() => tf.mul(model.loss(b, ctx as never), NaN) as tf.Scalar)
          : model.loss(b, ctx as never),
    };
    const err = await train({ model: bad, data: (_s, rng) => makeBatch(rng), steps: 5 }).catch((e) => e);
    expect(err).toBeInstanceOf(TrainNonFiniteError);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err.step).toBe(2);
    expect(err.message).toMatch(/loss is NaN at step 2/);
    model.dispose();
  });

  it('writes JSON lines, runs eval hooks and stops early', async () => {
    const model = makeModel(10);
    const file = join(mkdtempSync(join(tmpdir(), 'geolip-metrics-')), 'm', 'metrics.jsonl');
    const evals: number[] = [];
    const summary = await train({
      model,
      data: (_s, rng) => makeBatch(rng),
      steps: 50,
      evalEvery: 5,
      evaluate: (step) => {
        evals.push(step);
        return { score: step <= 10 ? 1 / step : 1 }; // improves until step 10, then worse
      },
      earlyStop: { metric: 'score', mode: 'min', patience: 2 },
      metricsFile: file,
    });
    expect(summary.stoppedEarly).toBe(true);
    expect(summary.step).toBe(20);
    expect(evals).toEqual([5, 10, 15, 20]);
    expect(summary.best).toBeCloseTo(0.1, 10);
    const records = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TrainRecord);
    expect(records.filter((r) => r.type === 'step')).toHaveLength(20);
    expect(records.filter((r) => r.type === 'eval')).toHaveLength(4);
    expect(records.at(-1)).toMatchObject({ type: 'early_stop', step: 20, metric: 'score' });
    model.dispose();
  });

  it('on resume, drops the records of the steps after the checkpoint, so no step is logged twice', async () => {
    const root = mkdtempSync(join(tmpdir(), 'geolip-metrics-resume-'));
    const file = join(root, 'metrics.jsonl');
    const dir = join(root, 'ck');
    const model = makeModel(11);
    const base = { model, data: (_s: number, rng: Rng) => makeBatch(rng), metricsFile: file };
    const first = await train({ ...base, steps: 2, checkpoint: { dir, every: 2 } });
    // The run went on to step 3 and stopped before its next checkpoint, the last line cut short.
    appendFileSync(
      file,
      `${JSON.stringify({ type: 'step', step: 3, loss: 1, lr: 0, gradNorm: 0, stepsPerSec: 1, elapsedMs: 1 })}\n{"type":"st`,
    );
    await train({ ...base, steps: 4, resumeFrom: first.lastCheckpoint! });
    const steps = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TrainRecord)
      .filter((r) => r.type === 'step')
      .map((r) => r.step);
    expect(steps).toEqual([1, 2, 3, 4]);
    model.dispose();
  });

  it('formats a progress line with loss, throughput and ETA', () => {
    expect(formatProgress(30, 100, 0.12345, 10, 10)).toBe(
      'step 30/100 [###-------] loss 0.1235 | 10.0 step/s | ETA 0:07',
    );
  });
});
