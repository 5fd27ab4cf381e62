import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import {
  cvFromSquaredVolumes,
  cvLoss,
  cvMultiScale,
  pentachoronCV,
  pentachoronCVAsync,
  sampleSimplexIndices,
  targetCV,
} from '../../src/cv/index.js';
import { simplexVolumeSquared } from '../../src/simplex/index.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { createRng } from '../../src/random/rng.js';
import { sampleSphere } from '../../src/sphere/index.js';
import fixture from '../fixtures/cv.json';

describe('pentachoronCV', () => {
  it('uniform points on S^15 give CV ≈ 0.20 (spec §2.2)', () => {
    const cvs = [1, 2, 3, 4, 5].map((seed) => pentachoronCV(sampleSphere(512, 16, { seed }), { seed }).cv);
    const mean = cvs.reduce((a, b) => a + b) / cvs.length;
    expect(mean).toBeGreaterThan(0.185);
    expect(mean).toBeLessThan(0.215);
  });
  it('reports valid/total and is seeded', () => {
    const x = sampleSphere(100, 16, { seed: 1 });
    const a = pentachoronCV(x, { seed: 7 });
    expect(a.valid).toBe(200);
    expect(a.total).toBe(200);
    expect(pentachoronCV(x, { seed: 7 })).toEqual(a);
    expect(pentachoronCV(x, { seed: 8 }).cv).not.toBe(a.cv);
  });
  it('matches the numpy replication of the sampler on the same simplices', () => {
    // fixture: points + the exact index sets; our CV with those sets must equal numpy's.
    const x = Matrix.fromArray(fixture.points);
    const rng = {
      choose: (() => {
        let s = 0;
        return () => Int32Array.from(fixture.indices[s++]!);
      })(),
    } as never;
    const r = pentachoronCV(x, { samples: fixture.indices.length, rng });
    expect(r.valid).toBe(fixture.valid);
    expect(r.cv).toBeCloseTo(fixture.cv, 12);
  });
  it('uses only the first `pool` rows', () => {
    const good = sampleSphere(20, 8, { seed: 2 });
    const x = tf.concat([good, tf.fill([30, 8], NaN)]) as tf.Tensor2D;
    expect(pentachoronCV(x, { pool: 20 }).valid).toBe(200);
    expect(() => pentachoronCV(x, { pool: 21 })).toThrow(/pentachoronCV: 'x' has 8 non-finite/);
  });
  it('gives NaN (not 0) when too few simplices are valid: all points equal', () => {
    const r = pentachoronCV(tf.ones([10, 6]));
    expect(r.valid).toBe(0);
    expect(Number.isNaN(r.cv)).toBe(true);
  });
  it('async variant agrees', async () => {
    const x = sampleSphere(64, 16, { seed: 4 });
    expect(await pentachoronCVAsync(x, { seed: 1 })).toEqual(pentachoronCV(x, { seed: 1 }));
  });
  it('bad input: too few points, wrong rank, bad options', () => {
    expect(() => pentachoronCV(tf.zeros([4, 8]))).toThrow(
      /pentachoronCV: 'x' must have shape \[N, D\] with N >= 5, got \[4, 8\].*too few points/,
    );
    expect(() => pentachoronCV(tf.zeros([5, 8, 1]) as never)).toThrow(/pentachoronCV: 'x' must have shape \[N, D\]/);
    expect(() => pentachoronCV(tf.zeros([8, 8]), { samples: 0 })).toThrow(/pentachoronCV: 'samples'/);
    expect(() => pentachoronCV(tf.zeros([8, 8]), { pool: 3 })).toThrow(/pentachoronCV: 'pool'/);
  });
});

describe('targetCV', () => {
  it('S^15 ≈ 0.20 and S^127 ≈ 0.058 (spec §2.2)', () => {
    const t16 = targetCV(512, 16, { trials: 8, seed: 1 });
    const t128 = targetCV(512, 128, { trials: 8, seed: 1 });
    expect(Math.abs(t16 - 0.201)).toBeLessThan(0.012);
    expect(Math.abs(t128 - 0.0575)).toBeLessThan(0.004);
  });
  it('decreases with dimension', () => {
    expect(targetCV(200, 24, { trials: 4 })).toBeLessThan(targetCV(200, 16, { trials: 4 }));
  });
});

describe('cvMultiScale', () => {
  it('measures every scale and reports null where no simplex is valid', () => {
    const r = cvMultiScale(sampleSphere(128, 16, { seed: 3 }));
    expect(Object.keys(r).map(Number)).toEqual([3, 4, 5, 6, 7, 8]);
    for (const v of Object.values(r)) expect(v).toBeGreaterThan(0.05);
    expect(cvMultiScale(tf.ones([10, 6]), { scales: [3, 5] })).toEqual({ 3: null, 5: null }); // all points equal: every V² = 0
  });
});

describe('cvLoss', () => {
  it('equals (CV − target)² computed in float64 on the same simplices', () => {
    const x = sampleSphere(64, 16, { seed: 1 });
    const cv = pentachoronCV(x, { samples: 64, rng: createRng(42), minValid: 5 }).cv;
    const loss = cvLoss(x, 0.1, { samples: 64, rng: createRng(42) }).dataSync()[0]!;
    expect(loss).toBeCloseTo((cv - 0.1) ** 2, 5);
  });
  it('has a finite gradient that lowers the loss along −∇', () => {
    const x = sampleSphere(64, 16, { seed: 2 });
    const f = (t: tf.Tensor) => cvLoss(t as tf.Tensor2D, 0.05, { seed: 9 });
    const g = tf.grad(f)(x);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    const before = f(x).dataSync()[0]!;
    const after = f(tf.sub(x, tf.mul(g, 1e-2 / tf.norm(g).dataSync()[0]!))).dataSync()[0]!;
    expect(after).toBeLessThan(before);
  });
  it('is 0 with no gradient when too few simplices are valid', () => {
    const x = tf.ones([8, 4]);
    expect(cvLoss(x as tf.Tensor2D, 0.2).dataSync()[0]).toBe(0);
    expect(
      Array.from(
        tf
          .grad((t) => cvLoss(t as tf.Tensor2D, 0.2))(x)
          .dataSync(),
      ).every((v) => v === 0),
    ).toBe(true);
  });
  it('leaks no tensors', () => {
    const x = sampleSphere(32, 8, { seed: 3 });
    const before = tf.memory().numTensors;
    const l = cvLoss(x, 0.2, { seed: 1 });
    expect(tf.memory().numTensors).toBe(before + 1);
    l.dispose();
  });
  it('bad input', () => {
    expect(() => cvLoss(tf.zeros([4, 8]) as tf.Tensor2D)).toThrow(/cvLoss: 'x' must have shape \[N, D\] with N >= 5/);
    expect(() => cvLoss(tf.zeros([8, 8]) as tf.Tensor2D, NaN)).toThrow(/cvLoss: 'target'/);
  });
});

describe('synchronous reads on a backend that cannot read synchronously', () => {
  it('throw BackendError naming the op and pointing to the Async variant', () => {
    const x = sampleSphere(16, 8, { seed: 1 });
    const original = tf.Tensor.prototype.dataSync;
    tf.Tensor.prototype.dataSync = function () {
      throw new Error('OffscreenCanvas is not defined');
    };
    try {
      expect(() => pentachoronCV(x)).toThrow(
        /pentachoronCV: cannot read 'x' synchronously on the '(cpu|wasm)' backend \(OffscreenCanvas is not defined\); use pentachoronCVAsync/,
      );
    } finally {
      tf.Tensor.prototype.dataSync = original;
    }
  });
});

describe('sampleSimplexIndices and cvFromSquaredVolumes (the pieces pentachoronCV is made of)', () => {
  it('rebuild pentachoronCV from the same draws', () => {
    const x = sampleSphere(300, 12, { seed: 4 });
    const rows = x.arraySync();
    const idx = sampleSimplexIndices(256, 150, 5, createRng(3));
    expect(idx.length).toBe(750);
    const v2 = Array.from({ length: 150 }, (_, s) =>
      simplexVolumeSquared(Array.from(idx.subarray(s * 5, s * 5 + 5), (r) => rows[r]!)),
    );
    expect(cvFromSquaredVolumes(v2)).toEqual(pentachoronCV(x, { samples: 150, pool: 256, seed: 3 }));
    for (let s = 0; s < 150; s++) expect(new Set(idx.subarray(s * 5, s * 5 + 5)).size).toBe(5);
    expect(Math.max(...idx)).toBeLessThan(256);
  });
  it('cvFromSquaredVolumes: unbiased std over the valid volumes, NaN below minValid', () => {
    const r = cvFromSquaredVolumes([1, 1, 4, 4, 0, -1, NaN], 2);
    expect(r.valid).toBe(4);
    expect(r.total).toBe(7);
    expect(r.meanVolume).toBe(1.5);
    expect(r.cv).toBeCloseTo(Math.sqrt(1 / 3) / (1.5 + 1e-8), 12);
    expect(cvFromSquaredVolumes([1, 4]).cv).toBeNaN();
  });
  it('errors name the function and the argument', () => {
    expect(() => sampleSimplexIndices(4, 10, 5, createRng(0))).toThrow(/sampleSimplexIndices: 'pool' must be/);
    expect(() => sampleSimplexIndices(10, 0, 5, createRng(0))).toThrow(/sampleSimplexIndices: 'samples'/);
    expect(() => sampleSimplexIndices(10, 2, 5, {} as never)).toThrow(/sampleSimplexIndices: 'rng'/);
    expect(() => cvFromSquaredVolumes([1, 2], 1)).toThrow(/cvFromSquaredVolumes: 'minValid'/);
  });
});
