// The flow-matching interpolant and target on hand-worked values (both conventions), the MSE, time
// sampling (uniform, logit-normal, determinism) and the loss with a stand-in model of known output.
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  InvalidArgumentError,
  ShapeError,
  flowMatchingLoss,
  interpolate,
  sampleTimes,
  velocityMse,
} from '../src/index.js';
import type { VelocityModel } from '../src/index.js';

describe('interpolate', () => {
  let x0: tf.Tensor2D, eps: tf.Tensor2D, t: tf.Tensor1D;
  beforeAll(() => {
    x0 = tf.tensor2d([
      [1, 2],
      [3, -1],
    ]);
    eps = tf.tensor2d([
      [0, 4],
      [1, 1],
    ]);
    t = tf.tensor1d([0.25, 1]);
  });

  it('noise_at_1: x_t = (1 − t)·x0 + t·ε, v* = ε − x0', async () => {
    const { xt, target } = interpolate(x0, eps, t);
    expect(Array.from(await xt.data())).toEqual([0.75, 2.5, 1, 1]);
    expect(Array.from(await target.data())).toEqual([-1, 2, -2, 2]);
    tf.dispose([xt, target]);
  });

  it('data_at_1: x_t = t·x0 + (1 − t)·ε, v* = x0 − ε', async () => {
    const { xt, target } = interpolate(x0, eps, t, { convention: 'data_at_1' });
    expect(Array.from(await xt.data())).toEqual([0.25, 3.5, 3, -1]);
    expect(Array.from(await target.data())).toEqual([1, -2, 2, -2]);
    tf.dispose([xt, target]);
  });

  it('the target is dx_t/dt (finite difference of x_t in t)', async () => {
    const d = 1e-2;
    const a = interpolate(x0, eps, tf.tensor1d([0.5, 0.5]));
    const b = interpolate(x0, eps, tf.tensor1d([0.5 + d, 0.5 + d]));
    const fd = tf.div(tf.sub(b.xt, a.xt), d);
    const diff = await tf.max(tf.abs(tf.sub(fd, a.target))).data();
    expect(diff[0]).toBeLessThan(1e-3);
    tf.dispose([a.xt, a.target, b.xt, b.target, fd]);
  });

  it('rejects mismatched shapes and an unknown convention', () => {
    expect(() => interpolate(x0, tf.zeros([2, 3]), t)).toThrow(ShapeError);
    expect(() => interpolate(x0, eps, tf.tensor1d([0.5]))).toThrow(/interpolate.*t/);
    expect(() => interpolate(x0, eps, t, { convention: 'up' as 'data_at_1' })).toThrow(InvalidArgumentError);
  });
});

describe('velocityMse', () => {
  it('mean of squared differences: ((1)² + (2)² + 0 + (−3)²)/4 = 3.5', async () => {
    const l = velocityMse(
      tf.tensor2d([
        [1, 2],
        [0, -3],
      ]),
      tf.zeros([2, 2]),
    );
    expect(l.rank).toBe(0);
    expect((await l.data())[0]).toBeCloseTo(3.5, 6);
  });
});

describe('sampleTimes', () => {
  it('uniform: in [0, 1), mean ≈ 0.5, deterministic per seed', () => {
    const a = sampleTimes(4000, createRng(3));
    expect(a.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(a.reduce((s, v) => s + v, 0) / a.length).toBeCloseTo(0.5, 1);
    expect(Array.from(sampleTimes(5, createRng(3)))).toEqual(Array.from(a.slice(0, 5)));
  });

  it('logit-normal σ(m + s·z): median ≈ σ(m), values in (0, 1)', () => {
    const a = Array.from(sampleTimes(4001, createRng(1), { sampling: 'logit_normal', mean: 1, std: 0.5 })).sort(
      (x, y) => x - y,
    );
    expect(a[0]!).toBeGreaterThan(0);
    expect(a[a.length - 1]!).toBeLessThan(1);
    expect(a[2000]!).toBeCloseTo(1 / (1 + Math.exp(-1)), 1);
  });

  it('rejects n < 1, unknown sampling and std ≤ 0', () => {
    expect(() => sampleTimes(0, createRng(0))).toThrow(/sampleTimes.*n/);
    expect(() => sampleTimes(2, createRng(0), { sampling: 'beta' as 'uniform' })).toThrow(/sampling/);
    expect(() => sampleTimes(2, createRng(0), { sampling: 'logit_normal', std: 0 })).toThrow(/std/);
  });
});

describe('flowMatchingLoss', () => {
  const zeroModel: VelocityModel = { forward: (x) => tf.zerosLike(x) };
  let x0: tf.Tensor4D;
  beforeAll(() => {
    x0 = tf.tensor4d([1, -1, 2, 0], [1, 2, 2, 1]);
  });

  it('with fixed noise and t, a zero-velocity model gives mean((ε − x0)²)', async () => {
    const noise = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
    const l = flowMatchingLoss(zeroModel, x0, tf.tensor1d([0], 'int32'), { noise, t: tf.tensor1d([0.3]) });
    // ε − x0 = [−1, 2, 0, 3] → (1 + 4 + 0 + 9)/4 = 3.5
    expect((await l.data())[0]).toBeCloseTo(3.5, 6);
  });

  it('a model that returns the exact target has zero loss (x_t, t reach the model)', async () => {
    const noise = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
    // v* = ε − x0 = (x_t − x0)/t for noise_at_1, recovered from the inputs the model receives.
    const oracle: VelocityModel = {
      forward: (x, t) => tf.tidy(() => tf.div(tf.sub(x, x0), tf.reshape(t, [-1, 1, 1, 1]))) as tf.Tensor4D,
    };
    const l = flowMatchingLoss(oracle, x0, tf.tensor1d([0], 'int32'), { noise, t: tf.tensor1d([0.4]) });
    expect((await l.data())[0]).toBeCloseTo(0, 5);
  });

  it('draws the same noise and times for the same seed, and a scalar inside variableGrads', async () => {
    const w = tf.variable(tf.scalar(0.5));
    const scaled: VelocityModel = { forward: (x) => tf.mul(x, w) as tf.Tensor4D };
    const a = await flowMatchingLoss(scaled, x0, tf.tensor1d([0], 'int32'), { seed: 9 }).data();
    const b = await flowMatchingLoss(scaled, x0, tf.tensor1d([0], 'int32'), { seed: 9 }).data();
    expect(a[0]).toBe(b[0]);
    const { value, grads } = tf.variableGrads(
      () => flowMatchingLoss(scaled, x0, tf.tensor1d([0], 'int32'), { seed: 9 }),
      [w],
    );
    expect(value.rank).toBe(0);
    expect(Number.isFinite((await grads[w.name]!.data())[0]!)).toBe(true);
    w.dispose();
  });
});
