// @geolip/text's heads are TrainableModels as they are: `train()` fits a SimilarityHead and a TaggingHead on small
// synthetic, separable problems (frozen "embeddings" are seeded Gaussian vectors), and the held-out loss drops
// while the accuracy rises above a stated bound.
import * as tf from '@tensorflow/tfjs-core';
import { SimilarityHead, TaggingHead } from '@geolip/text';
import { describe, expect, it } from 'vitest';

import { train } from '@geolip/train';
import { gaussianSource } from './helpers.js';

const normals = gaussianSource;

function normalized(x: number[]): number[] {
  const n = Math.hypot(...x);
  return x.map((v) => v / n);
}

function unit(r: () => number, d: number): number[] {
  return normalized(Array.from({ length: d }, r));
}

function scalar(t: tf.Scalar): number {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}

function pick<T>(rows: readonly T[], idx: readonly number[]): T[] {
  return idx.map((i) => rows[i]!);
}

const D = 8;
const BATCH = 32;

describe('text heads trained with train()', () => {
  it('SimilarityHead: paraphrase-like pairs (score 4.5) vs unrelated pairs (0.5); held-out MSE drops 10×, accuracy ≥ 0.95', async () => {
    // Positive: v = normalize(u + 0.1·noise) (cos ≈ 0.96); negative: v independent (cos ≈ 0 ± 0.35).
    // Fresh pairs every step (drawn from the step's rng), a fixed held-out set from another seed.
    const make = (n: number, r: () => number) => {
      const u: number[][] = [];
      const v: number[][] = [];
      const score: number[] = [];
      for (let i = 0; i < n; i++) {
        const a = unit(r, D);
        const positive = i % 2 === 0;
        u.push(a);
        v.push(positive ? normalized(a.map((x) => x + 0.1 * r())) : unit(r, D));
        score.push(positive ? 4.5 : 0.5);
      }
      return { u, v, score };
    };
    const test = make(128, normals(1));
    const head = new SimilarityHead({ embedDim: D, layout: 'mlp', hidden: 16, seed: 0 });
    const accuracy = (): number => {
      const pred = head.forward(test.u, test.v);
      const p = pred.dataSync();
      pred.dispose();
      return test.score.filter((s, i) => p[i]! >= 2.5 === s >= 2.5).length / test.score.length;
    };
    const loss0 = scalar(head.loss(test));
    const acc0 = accuracy();
    const summary = await train({
      model: head,
      data: (_step, rng) => make(BATCH, () => rng.normal()),
      steps: 80,
      optimizer: { lr: 1e-2 },
      seed: 0,
    });
    expect(summary.stepsRun).toBe(80);
    const loss1 = scalar(head.loss(test));
    const acc1 = accuracy();
    expect(loss1).toBeLessThan(0.1 * loss0); // from ≈ 4 (the sigmoid starts near 2.5, 2 away from either score)
    expect(acc1).toBeGreaterThanOrEqual(0.95);
    expect(acc1).toBeGreaterThan(acc0);
    head.dispose();
  });

  it('TaggingHead: 4 linearly separable tags; held-out BCE drops 3×, per-tag accuracy ≥ 0.9', async () => {
    // Tag c is on iff x·w_c > 0 for fixed random directions w_c.
    const r = normals(2);
    const C = 4;
    const w = Array.from({ length: C }, () => unit(r, D));
    const make = (n: number) => {
      const x = Array.from({ length: n }, () => Array.from({ length: D }, r));
      const labels = x.map((row) => w.map((wc) => (row.reduce((s, v, j) => s + v * wc[j]!, 0) > 0 ? 1 : 0)));
      return { x, labels };
    };
    const trainSet = make(256);
    const test = make(128);
    const head = new TaggingHead({ embedDim: D, classes: C, layout: 'mlp', hidden: 16, seed: 0 });
    const accuracy = (): number => {
      const pred = head.predict(test.x);
      const p = pred.dataSync();
      pred.dispose();
      let right = 0;
      test.labels.forEach((row, i) => row.forEach((y, c) => (right += p[i * C + c] === y ? 1 : 0)));
      return right / (test.labels.length * C);
    };
    const loss0 = scalar(head.loss(test));
    const acc0 = accuracy();
    await train({
      model: head,
      data: (_step, rng) => {
        const idx = Array.from({ length: BATCH }, () => Math.floor(rng.uniform() * 256));
        return { x: pick(trainSet.x, idx), labels: pick(trainSet.labels, idx) };
      },
      steps: 100,
      optimizer: { lr: 2e-2 },
      seed: 0,
    });
    const loss1 = scalar(head.loss(test));
    const acc1 = accuracy();
    expect(loss1).toBeLessThan(0.3 * loss0); // from ≈ ln 2
    expect(acc1).toBeGreaterThanOrEqual(0.9);
    expect(acc1).toBeGreaterThan(acc0);
    head.dispose();
  });
});
