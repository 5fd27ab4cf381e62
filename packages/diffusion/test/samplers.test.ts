// Euler and Heun against closed forms (constant, affine-in-t and linear-in-x fields), seeded class-
// conditional sampling (determinism, the start noise, labels reaching the model) and the errors.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { GlfmModel, InvalidArgumentError, eulerSolve, heunSolve, odeSolve, sample } from '../src/index.js';
import type { VelocityModel } from '../src/index.js';
import { tinyConfig } from './helpers.js';

async function values(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe('ODE solvers', () => {
  let x0: tf.Tensor1D;
  beforeAll(() => {
    x0 = tf.tensor1d([0.5, -2]);
  });

  it('Euler is exact for a constant field: x(0) = x(1) − c (t from 1 to 0)', async () => {
    const c = tf.tensor1d([3, -1]);
    const out = await values(eulerSolve(() => tf.clone(c), x0, { steps: 7 }));
    expect(out[0]).toBeCloseTo(0.5 - 3, 5);
    expect(out[1]).toBeCloseTo(-2 + 1, 5);
  });

  it('Euler on v = a·x gives the discrete closed form x·(1 + h·a)^N', async () => {
    const a = 0.8;
    const n = 5;
    const h = -1 / n; // t from 1 to 0
    const out = await values(eulerSolve((x) => tf.mul(x, a), x0, { steps: n }));
    expect(out[0]).toBeCloseTo(0.5 * (1 + h * a) ** n, 5);
    expect(out[1]).toBeCloseTo(-2 * (1 + h * a) ** n, 5);
  });

  it('Heun is exact for a field affine in t: v = α + β·t, x(1) = x(0) + α + β/2', async () => {
    const [alpha, beta] = [1.5, -4];
    for (const steps of [1, 3]) {
      const out = await values(
        heunSolve((x, t) => tf.fill(x.shape, alpha + beta * t), x0, { steps, tStart: 0, tEnd: 1 }),
      );
      expect(out[0]).toBeCloseTo(0.5 + alpha + beta / 2, 5);
      expect(out[1]).toBeCloseTo(-2 + alpha + beta / 2, 5);
    }
    // Euler is not: with 1 step it uses v(0) = α only.
    const e = await values(
      eulerSolve((x, t) => tf.fill(x.shape, alpha + beta * t), x0, { steps: 1, tStart: 0, tEnd: 1 }),
    );
    expect(e[0]).toBeCloseTo(0.5 + alpha, 5);
  });

  it('Heun on v = a·x gives x·(1 + h·a + (h·a)²/2)^N, closer to e^{−a} than Euler', async () => {
    const a = 1;
    const n = 4;
    const ha = (-1 / n) * a;
    const heun = await values(heunSolve((x) => tf.mul(x, a), tf.tensor1d([1]), { steps: n }));
    expect(heun[0]).toBeCloseTo((1 + ha + (ha * ha) / 2) ** n, 5);
    const euler = await values(odeSolve((x) => tf.mul(x, a), tf.tensor1d([1]), { steps: n, method: 'euler' }));
    expect(Math.abs(heun[0]! - Math.exp(-a))).toBeLessThan(Math.abs(euler[0]! - Math.exp(-a)));
  });

  it('leaks no tensors and leaves x alone', () => {
    const before = tf.memory().numTensors;
    const out = heunSolve((x) => tf.mul(x, 2), x0, { steps: 3 });
    expect(tf.memory().numTensors).toBe(before + 1);
    out.dispose();
    expect(x0.isDisposed).toBe(false);
  });

  it('rejects steps < 1, non-integer steps, an unknown method, a wrong-shaped velocity', () => {
    expect(() => eulerSolve((x) => x, x0, { steps: 0 })).toThrow(InvalidArgumentError);
    expect(() => eulerSolve((x) => x, x0, { steps: 0 })).toThrow(/eulerSolve.*steps/);
    expect(() => heunSolve((x) => x, x0, { steps: 2.5 })).toThrow(/heunSolve.*steps/);
    expect(() => odeSolve((x) => x, x0, { method: 'rk4' as 'euler' })).toThrow(/odeSolve.*method/);
    expect(() => eulerSolve(() => tf.zeros([3]), x0, { steps: 1 })).toThrow(/velocity/);
  });
});

describe('sample', () => {
  it('a zero field returns the seeded start noise; same seed → same, other seed → different', async () => {
    const zero: VelocityModel = { forward: (x) => tf.zerosLike(x) };
    const opts = { labels: [0, 1], imageShape: [4, 4, 1] as const, steps: 3, seed: 5 };
    const a = await values(sample(zero, opts));
    const b = await values(sample(zero, opts));
    const c = await values(sample(zero, { ...opts, seed: 6 }));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(1);
  });

  it('integrates from t = 1 to 0 and passes the labels to the model', async () => {
    const seen: number[][] = [];
    const ts: number[] = [];
    const spy: VelocityModel = {
      forward: (x, t, labels) => {
        seen.push(Array.from(labels.dataSync()));
        ts.push(t.dataSync()[0]!);
        return tf.onesLike(x);
      },
    };
    const zero: VelocityModel = { forward: (x) => tf.zerosLike(x) };
    const noise = await values(sample(zero, { labels: [2, 0], imageShape: [2, 2, 1], steps: 4, seed: 1 }));
    const out = await values(sample(spy, { labels: [2, 0], imageShape: [2, 2, 1], steps: 4, seed: 1 }));
    // dx/dt = 1 from t = 1 to t = 0: x(0) = ε − 1.
    out.forEach((v, i) => expect(v).toBeCloseTo(noise[i]! - 1, 5));
    expect(ts).toEqual([1, 0.75, 0.5, 0.25]);
    expect(seen.every((l) => l[0] === 2 && l[1] === 0)).toBe(true);
  });

  it('is deterministic on a GlfmModel (Euler and Heun), with the image shape from its config', async () => {
    const model = new GlfmModel(tinyConfig('v3', { imageSize: 8 }));
    for (const method of ['euler', 'heun'] as const) {
      const a = sample(model, { labels: [0, 2], steps: 2, seed: 3, method });
      expect(a.shape).toEqual([2, 8, 8, 1]);
      const b = sample(model, { labels: [0, 2], steps: 2, seed: 3, method });
      expect(await values(a)).toEqual(await values(b));
    }
    expect(() => sample(model, { labels: [3], steps: 2 })).toThrow(/sample.*labels/);
    model.dispose();
  });

  it('rejects steps < 1, empty labels and non-integer labels', () => {
    const zero: VelocityModel = { forward: (x) => tf.zerosLike(x) };
    expect(() => sample(zero, { labels: [0], imageShape: [2, 2, 1], steps: 0 })).toThrow(/sample.*steps/);
    expect(() => sample(zero, { labels: [], imageShape: [2, 2, 1] })).toThrow(/labels/);
    expect(() => sample(zero, { labels: [0.5], imageShape: [2, 2, 1] })).toThrow(/labels/);
    expect(() => sample(zero, { labels: [0] })).toThrow(/imageShape/);
  });
});
