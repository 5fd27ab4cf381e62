import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import fixture from '../fixtures/alignment.json';
import {
  knnAccuracy,
  knnAccuracyAsync,
  sameDiffGap,
  sameDiffGapAsync,
  selfSimilarity,
  selfSimilarityAsync,
} from '../../src/diagnostics/index.js';
import { InvalidArgumentError, ShapeError } from '../../src/errors.js';

// The embeddings are float32 on the backend: compare with the float64 numpy reference at ~1e-6.
const f = fixture.diagnostics;

function leakCheck<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = fn();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe('selfSimilarity', () => {
  it('gives hand-derived values', () => {
    const e = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const r = selfSimilarity(e);
    expect(r.mean).toBeCloseTo((2 * Math.SQRT1_2) / 3, 6); // pairs: 0, √½, √½ (each twice) over 6
    expect(r.max).toBeCloseTo(Math.SQRT1_2, 6);
    e.dispose();
    const opposite = tf.tensor2d([
      [2, 0],
      [-3, 0],
    ]);
    expect(selfSimilarity(opposite)).toEqual({ mean: -1, max: -1 });
    opposite.dispose();
  });

  it('matches numpy, for any block size, sync and async, and leaks no tensors', async () => {
    const e = tf.tensor2d(f.embeddings);
    for (const blockRows of [undefined, 1, 4, 7, 25, 100]) {
      const r = leakCheck(() => selfSimilarity(e, { blockRows }));
      expect(r.mean).toBeCloseTo(f.selfMean, 6);
      expect(r.max).toBeCloseTo(f.selfMax, 6);
    }
    const before = tf.memory().numTensors;
    const a = await selfSimilarityAsync(e, { blockRows: 6 });
    expect(tf.memory().numTensors).toBe(before);
    expect(a.mean).toBeCloseTo(f.selfMean, 6);
    expect(a.max).toBeCloseTo(f.selfMax, 6);
    e.dispose();
  });

  it('keeps a zero row at cosine 0 (no NaN)', () => {
    const e = tf.tensor2d([
      [0, 0],
      [1, 0],
      [1, 0],
    ]);
    const r = selfSimilarity(e);
    expect(r.mean).toBeCloseTo(2 / 6, 6); // only the pair (1, 2) in both orders has cosine 1
    expect(r.max).toBeCloseTo(1, 6);
    e.dispose();
  });

  it('doc example', async () => {
    const e = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    expect(selfSimilarity(e).mean).toBeCloseTo(0.4714045, 6);
    expect((await selfSimilarityAsync(e)).max).toBeCloseTo(0.7071067, 6);
    e.dispose();
  });

  it('throws typed errors naming the op and argument', () => {
    const one = tf.tensor2d([[1, 2]]);
    expect(() => selfSimilarity(one)).toThrow(ShapeError);
    expect(() => selfSimilarity(one)).toThrow(
      /selfSimilarity: 'embeddings' must have shape \[N, D\] with N ≥ 2, got \[1, 2\]/,
    );
    one.dispose();
    const t3 = tf.zeros([2, 2, 2]);
    expect(() => selfSimilarity(t3 as tf.Tensor2D)).toThrow(
      /selfSimilarity: 'embeddings' must have shape \[N, D\], got \[2, 2, 2\]/,
    );
    t3.dispose();
    expect(() => selfSimilarity([[1, 0]] as unknown as tf.Tensor2D)).toThrow(
      /selfSimilarity: 'embeddings' must be a tf.Tensor2D, got an array/,
    );
    const e = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    expect(() => selfSimilarity(e, { blockRows: 0 })).toThrow(InvalidArgumentError);
    expect(() => selfSimilarity(e, { blockRows: 0 })).toThrow(
      /selfSimilarity: 'options.blockRows' must be an integer >= 1, got 0/,
    );
    e.dispose();
  });
});

describe('knnAccuracy', () => {
  it('gives hand-derived values', () => {
    const e = tf.tensor2d([
      [1, 0],
      [0.9, 0.1],
      [0, 1],
      [0.1, 0.9],
    ]);
    expect(knnAccuracy(e, [0, 0, 1, 1])).toBe(1);
    expect(knnAccuracy(e, [0, 1, 0, 1])).toBe(0); // every nearest neighbour carries the other label
    expect(knnAccuracy(e, Int32Array.from([7, 7, 7, 3]))).toBe(0.5); // rows 0, 1 right; 2 → 3 wrong; 3 → 2 wrong
    e.dispose();
  });

  it('matches numpy (diagonal set to −1, argmax), for any block size, sync and async', async () => {
    const e = tf.tensor2d(f.embeddings);
    for (const blockRows of [undefined, 1, 3, 25]) {
      expect(leakCheck(() => knnAccuracy(e, f.labels, { blockRows }))).toBeCloseTo(f.knnAccuracy, 12);
    }
    expect(await knnAccuracyAsync(e, f.labels, { blockRows: 8 })).toBeCloseTo(f.knnAccuracy, 12);
    e.dispose();
  });

  it('doc example', async () => {
    const e = tf.tensor2d([
      [1, 0],
      [0.9, 0.1],
      [0, 1],
      [0.1, 0.9],
    ]);
    expect(knnAccuracy(e, [0, 0, 1, 1])).toBe(1);
    expect(await knnAccuracyAsync(e, [0, 0, 1, 1])).toBe(1);
    e.dispose();
  });

  it('throws typed errors naming the op and argument', () => {
    const e = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    expect(() => knnAccuracy(e, [0, 1])).toThrow(ShapeError);
    expect(() => knnAccuracy(e, [0, 1])).toThrow(/knnAccuracy: 'labels' must have shape \[N=3\], got \[2\]/);
    expect(() => knnAccuracy(e, [0, 1, 0.5])).toThrow(InvalidArgumentError);
    expect(() => knnAccuracy(e, [0, 1, 0.5])).toThrow(/knnAccuracy: 'labels' must hold integers, got 0.5 at index 2/);
    expect(() => knnAccuracy(e, 'abc' as unknown as number[])).toThrow(
      /knnAccuracy: 'labels' must be an Int32Array or an array of integers/,
    );
    e.dispose();
  });
});

describe('sameDiffGap', () => {
  it('gives hand-derived values', () => {
    const e = tf.tensor2d([
      [1, 0],
      [1, 0],
      [0, 1],
      [0, 1],
    ]);
    const r = sameDiffGap(e, [0, 0, 1, 1]);
    expect(r.same).toBeCloseTo(1, 6);
    expect(r.diff).toBeCloseTo(0, 6);
    expect(r.gap).toBeCloseTo(1, 6);
    // Labels reversed on one side: the gap flips sign.
    const flipped = sameDiffGap(e, [0, 1, 0, 1]);
    expect(flipped.same).toBeCloseTo(0, 6);
    expect(flipped.diff).toBeCloseTo(0.5, 6); // diff pairs: (0,1) cos 1, (0,3) 0, (1,2) 0, (2,3) 1 → mean ½
    e.dispose();
  });

  it('matches the explicit N×N numpy computation, sync and async, any block size', async () => {
    const e = tf.tensor2d(f.embeddings);
    for (const blockRows of [undefined, 1, 5, 25]) {
      const r = leakCheck(() => sameDiffGap(e, f.labels, { blockRows }));
      expect(r.same).toBeCloseTo(f.same, 6);
      expect(r.diff).toBeCloseTo(f.diff, 6);
      expect(r.gap).toBeCloseTo(f.gap, 6);
    }
    const a = await sameDiffGapAsync(e, Int32Array.from(f.labels));
    expect(a.gap).toBeCloseTo(f.gap, 6);
    e.dispose();
  });

  it('returns NaN for the undefined means (one class; all singletons)', () => {
    const e = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const one = sameDiffGap(e, [4, 4, 4]);
    expect(one.diff).toBeNaN();
    expect(one.gap).toBeNaN();
    expect(one.same).toBeCloseTo((2 * Math.SQRT1_2) / 3, 6);
    const singletons = sameDiffGap(e, [0, 1, 2]);
    expect(singletons.same).toBeNaN();
    expect(singletons.diff).toBeCloseTo((2 * Math.SQRT1_2) / 3, 6);
    e.dispose();
  });

  it('doc example', async () => {
    const e = tf.tensor2d([
      [1, 0],
      [1, 0],
      [0, 1],
      [0, 1],
    ]);
    const r = await sameDiffGapAsync(e, [0, 0, 1, 1]);
    expect(r.same).toBeCloseTo(1, 6);
    expect(r.diff).toBeCloseTo(0, 6);
    expect(r.gap).toBeCloseTo(1, 6);
    e.dispose();
  });

  it('throws typed errors naming the op and argument', () => {
    const e = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    expect(() => sameDiffGap(e, [0, 1, 2, 3])).toThrow(/sameDiffGap: 'labels' must have shape \[N=3\], got \[4\]/);
    expect(() => sameDiffGap(e, [0, 1, 2], { blockRows: 1.5 })).toThrow(
      /sameDiffGap: 'options.blockRows' must be an integer >= 1, got 1.5/,
    );
    e.dispose();
  });
});

describe('tensor diagnostics on a backend without synchronous reads', () => {
  it('throw BackendError pointing to the Async variant, and the Async variant still works', async () => {
    const e = tf.tensor2d([
      [1, 0],
      [0.9, 0.1],
      [0, 1],
      [0.1, 0.9],
    ]);
    const original = tf.Tensor.prototype.dataSync;
    tf.Tensor.prototype.dataSync = function () {
      throw new Error('OffscreenCanvas is not defined');
    };
    try {
      expect(() => knnAccuracy(e, [0, 0, 1, 1])).toThrow(
        /knnAccuracy: cannot read 'embeddings' synchronously .*; use knnAccuracyAsync/,
      );
      expect(() => selfSimilarity(e)).toThrow(
        /selfSimilarity: cannot read 'embeddings' synchronously .*; use selfSimilarityAsync/,
      );
      expect(() => sameDiffGap(e, [0, 0, 1, 1])).toThrow(
        /sameDiffGap: cannot read 'embeddings' synchronously .*; use sameDiffGapAsync/,
      );
      expect(await knnAccuracyAsync(e, [0, 0, 1, 1])).toBe(1);
    } finally {
      tf.Tensor.prototype.dataSync = original;
      e.dispose();
    }
  });
});
