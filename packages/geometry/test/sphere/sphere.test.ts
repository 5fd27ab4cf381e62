import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import {
  expMap,
  geodesicDistance,
  logMap,
  normalize,
  pairwiseCosine,
  sampleSphere,
  slerp,
  tangentProject,
} from '../../src/sphere/index.js';
import { expectTensorClose } from '../../src/testing/index.js';
import fixture from '../fixtures/sphere-simplex.json';

const t2 = (a: number[][]) => tf.tensor2d(a);
const F = fixture.sphere;

describe('normalize', () => {
  it('gives unit rows and keeps zero rows at zero', () => {
    expectTensorClose(
      normalize(
        t2([
          [3, 4],
          [0, 0],
          [0, -2],
        ]),
      ),
      [
        [0.6, 0.8],
        [0, 0],
        [0, -1],
      ],
    );
  });
  it('is differentiable', () => {
    const g = tf.grad((x) => tf.sum(tf.mul(normalize(x), tf.tensor1d([1, 0]))))(tf.tensor1d([3, 4]));
    // d/dx (x1/|x|) = (|x|² − x1²)/|x|³ = 16/125, d/dy = −x1 x2/|x|³ = −12/125
    expectTensorClose(g, [16 / 125, -12 / 125]);
  });
  it('rejects a non-tensor and a bad epsilon', () => {
    expect(() => normalize([1, 2] as unknown as tf.Tensor)).toThrow(/normalize: 'x' must be a tf.Tensor/);
    expect(() => normalize(t2([[1, 2]]), { epsilon: -1 })).toThrow(/normalize: 'epsilon'/);
  });
});

describe('geodesicDistance', () => {
  it('matches hand-derived angles (π/2, π, 0)', () => {
    expectTensorClose(
      geodesicDistance(
        t2([
          [1, 0],
          [1, 0],
          [0, 1],
        ]),
        t2([
          [0, 1],
          [-1, 0],
          [0, 1],
        ]),
      ),
      [Math.PI / 2, Math.PI, 0],
      { atol: 1e-6 },
    );
  });
  it('matches numpy arccos on the fixture', () => {
    expectTensorClose(geodesicDistance(t2(F.u), t2(F.v)), F.distance, { atol: 2e-6 });
  });
  it('keeps precision at 1e-4 rad, where arccos of the float32 dot product returns 0', () => {
    const a = 1e-4;
    const u = t2([[1, 0]]);
    const v = t2([[Math.cos(a), Math.sin(a)]]);
    expect(tf.acos(tf.sum(tf.mul(u, v), -1)).dataSync()[0]).toBe(0);
    expectTensorClose(geodesicDistance(u, v), [a], { rtol: 1e-3, atol: 0 });
  });
  it('is symmetric and satisfies the triangle inequality on random points', () => {
    const a = sampleSphere(64, 8, { seed: 1 });
    const b = sampleSphere(64, 8, { seed: 2 });
    const c = sampleSphere(64, 8, { seed: 3 });
    expectTensorClose(geodesicDistance(a, b), geodesicDistance(b, a));
    const ab = geodesicDistance(a, b).dataSync();
    const bc = geodesicDistance(b, c).dataSync();
    const ac = geodesicDistance(a, c).dataSync();
    for (let i = 0; i < 64; i++) expect(ac[i]!).toBeLessThanOrEqual(ab[i]! + bc[i]! + 1e-5);
  });
  it('confines NaN to its own row', () => {
    const d = geodesicDistance(
      t2([
        [NaN, 0],
        [1, 0],
      ]),
      t2([
        [0, 1],
        [0, 1],
      ]),
    ).dataSync();
    expect(Number.isNaN(d[0]!)).toBe(true);
    expect(d[1]).toBeCloseTo(Math.PI / 2, 5);
  });
  it("throws ShapeError naming 'v'", () => {
    expect(() => geodesicDistance(tf.zeros([4, 3]), tf.zeros([4, 2]))).toThrow(
      /geodesicDistance: 'v' must have shape \[4, 3\]/,
    );
  });
  it('returns one tensor and leaks none', () => {
    const u = t2([[1, 0]]);
    const before = tf.memory().numTensors;
    const d = geodesicDistance(u, u);
    expect(tf.memory().numTensors).toBe(before + 1);
    d.dispose();
  });
});

describe('slerp', () => {
  it('matches scipy geometric_slerp', () => {
    F.t.forEach((t, i) => expectTensorClose(slerp(t2(F.u), t2(F.v), t), F.slerp[i]!, { atol: 3e-6 }));
  });
  it('accepts one t per row and stays on the sphere', () => {
    const r = slerp(
      t2([
        [1, 0],
        [1, 0],
      ]),
      t2([
        [0, 1],
        [0, 1],
      ]),
      tf.tensor1d([0.5, 1 / 3]),
    );
    expectTensorClose(r, [
      [Math.SQRT1_2, Math.SQRT1_2],
      [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6)],
    ]);
  });
  it('is the identity between equal points', () => {
    expectTensorClose(slerp(t2([[0.6, 0.8]]), t2([[0.6, 0.8]]), 0.3), [[0.6, 0.8]]);
  });
  it('rejects a t of the wrong shape', () => {
    expect(() => slerp(t2([[1, 0]]), t2([[0, 1]]), tf.tensor1d([0.1, 0.2]))).toThrow(
      /slerp: 't' must have shape \[1\] or a scalar/,
    );
  });
});

describe('tangentProject, expMap, logMap', () => {
  it('projects out the normal component', () => {
    expectTensorClose(tangentProject(t2([[1, 0]]), t2([[3, 4]])), [[0, 4]]);
  });
  it('match numpy on the fixture', () => {
    expectTensorClose(expMap(t2(F.u), t2(F.tangent)), F.exp, { atol: 3e-6 });
    expectTensorClose(logMap(t2(F.u), t2(F.v)), F.log, { atol: 3e-6 });
  });
  it('are inverse to each other, and exp(0) = x, log(x, x) = 0', () => {
    const x = sampleSphere(16, 6, { seed: 5 });
    const y = sampleSphere(16, 6, { seed: 6 });
    expectTensorClose(expMap(x, logMap(x, y)), y, { atol: 1e-5 });
    expectTensorClose(expMap(x, tf.zerosLike(x)), x);
    expectTensorClose(logMap(x, x), tf.zerosLike(x), { atol: 1e-6 });
  });
  it('logMap has norm equal to the geodesic distance', () => {
    const x = sampleSphere(16, 6, { seed: 7 });
    const y = sampleSphere(16, 6, { seed: 8 });
    expectTensorClose(tf.norm(logMap(x, y), 'euclidean', -1), geodesicDistance(x, y), { atol: 1e-5 });
  });
  it('throw ShapeError naming the argument', () => {
    expect(() => expMap(tf.zeros([2, 3]), tf.zeros([3, 3]))).toThrow(/expMap: 'tangentVec'/);
    expect(() => logMap(tf.zeros([2, 3]), tf.zeros([2]))).toThrow(/logMap: 'point'/);
  });
});

describe('sampleSphere', () => {
  it('is seeded, unit-norm and roughly isotropic', () => {
    const a = sampleSphere(2000, 3, { seed: 9 });
    expectTensorClose(a, sampleSphere(2000, 3, { seed: 9 }), { atol: 0, rtol: 0 });
    expectTensorClose(tf.norm(a, 'euclidean', 1), tf.ones([2000]), { atol: 1e-6 });
    const mean = tf.mean(a, 0).dataSync();
    for (const m of mean) expect(Math.abs(m)).toBeLessThan(0.06); // ≈ 4σ for σ = 1/√(3·2000)
  });
  it('rejects bad sizes', () => {
    expect(() => sampleSphere(0, 3)).toThrow(/sampleSphere: 'n' must be an integer >= 1/);
    expect(() => sampleSphere(3, 2.5)).toThrow(/sampleSphere: 'd'/);
  });
});

describe('pairwiseCosine', () => {
  it('matches hand-derived cosines and maps zero rows to 0', () => {
    const c = pairwiseCosine(
      t2([
        [1, 0],
        [0, 0],
      ]),
      t2([
        [1, 1],
        [0, 2],
        [-3, 0],
      ]),
    );
    expectTensorClose(c, [
      [Math.SQRT1_2, 0, -1],
      [0, 0, 0],
    ]);
  });
  it('equals geodesic cosines on the fixture', () => {
    const c = pairwiseCosine(t2(F.u), t2(F.v)).arraySync();
    F.distance.forEach((d, i) => expect(c[i]![i]!).toBeCloseTo(Math.cos(d), 5));
  });
  it("throws ShapeError naming 'b' when D differs", () => {
    expect(() => pairwiseCosine(tf.zeros([2, 3]), tf.zeros([4, 2]))).toThrow(
      /pairwiseCosine: 'b' must have shape \[M, D=3\], got \[4, 2\]/,
    );
  });
});
