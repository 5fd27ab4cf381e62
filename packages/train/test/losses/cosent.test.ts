import { readFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { cosentLoss } from '../../src/losses/index.js';

interface Case {
  name: string;
  scale: number;
  u: number[][];
  v: number[][];
  scores: number[];
  loss: number;
  gradU: number[][];
  gradV: number[][];
}

// Written by test/fixtures/generate/cosent.py (float64 numpy; its gradient checked there by central differences).
const fixture = JSON.parse(readFileSync(new URL('../fixtures/losses/cosent.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

const val = (t: tf.Tensor): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

describe('cosentLoss', () => {
  it('doc example: two pairs in the wrong order, λ = 1 → log(1 + e)', () => {
    const u = tf.tensor2d([
      [1, 0],
      [1, 0],
    ]);
    const v = tf.tensor2d([
      [0, 1],
      [1, 0],
    ]);
    // c = [0, 1], s = [1, 0]: one term, (i, j) = (0, 1): λ(c_1 − c_0) = 1.
    expect(val(cosentLoss(u, v, [1, 0], { scale: 1 }))).toBeCloseTo(Math.log(1 + Math.E), 5);
    // The right order: the term is e^{−1}; default λ = 20 on the wrong order: log(1 + e^20) ≈ 20.
    expect(val(cosentLoss(u, v, [0, 1], { scale: 1 }))).toBeCloseTo(Math.log(1 + Math.exp(-1)), 5);
    expect(val(cosentLoss(u, v, [1, 0]))).toBeCloseTo(20 + Math.log1p(Math.exp(-20)), 4);
    tf.dispose([u, v]);
  });

  it('hand case with a tie: equal scores add no term, all-equal scores give 0', () => {
    // Three pairs with cosines c = [1, 0, 0] (u_2 ⟂ v_2, u_1 ⟂ v_1), scores [2, 1, 1], λ = 2:
    // couples with s_i > s_j: (0, 1), (0, 2) → terms 2(0 − 1) = −2 twice; (1, 2) is a tie.
    const u = tf.tensor2d([
      [1, 0],
      [1, 0],
      [0, 3],
    ]);
    const v = tf.tensor2d([
      [2, 0],
      [0, 1],
      [1, 0],
    ]);
    expect(val(cosentLoss(u, v, [2, 1, 1], { scale: 2 }))).toBeCloseTo(Math.log(1 + 2 * Math.exp(-2)), 5);
    expect(val(cosentLoss(u, v, [3, 3, 3]))).toBe(0);
    // Only the order of the scores matters.
    const a = val(cosentLoss(u, v, [0.5, 0.2, 0.1], { scale: 3 }));
    const b = val(cosentLoss(u, v, tf.tensor1d([50, 20, 10]), { scale: 3 }));
    expect(a).toBeCloseTo(b, 6);
    tf.dispose([u, v]);
  });

  for (const c of fixture.cases) {
    it(`matches numpy: ${c.name} (loss and gradient)`, () => {
      const u = tf.tensor2d(c.u);
      const v = tf.tensor2d(c.v);
      const loss = val(cosentLoss(u, v, c.scores, { scale: c.scale }));
      expect(Math.abs(loss - c.loss)).toBeLessThan(1e-4 * Math.max(1, c.loss));
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        cosentLoss(x as tf.Tensor2D, y as tf.Tensor2D, c.scores, { scale: c.scale }),
      )([u, v]);
      const [gu, gv] = g.map((t) => Array.from(t.dataSync()));
      const tol = 2e-4 * c.scale;
      c.gradU.flat().forEach((want, k) => expect(Math.abs(gu![k]! - want)).toBeLessThan(tol));
      c.gradV.flat().forEach((want, k) => expect(Math.abs(gv![k]! - want)).toBeLessThan(tol));
      tf.dispose([u, v, ...g]);
    });
  }

  it('gradient descent on the cosines puts the pairs in the order of the scores', () => {
    const u = tf.variable(tf.randomNormal([5, 4], 0, 1, 'float32', 3));
    const v = tf.randomNormal([5, 4], 0, 1, 'float32', 4) as tf.Tensor2D;
    const scores = [0, 1, 2, 3, 4];
    const first = val(cosentLoss(u as tf.Tensor2D, v, scores, { scale: 5 }));
    const opt = tf.train.sgd(0.05);
    for (let i = 0; i < 200; i++) opt.minimize(() => cosentLoss(u as tf.Tensor2D, v, scores, { scale: 5 }));
    const last = val(cosentLoss(u as tf.Tensor2D, v, scores, { scale: 5 }));
    expect(last).toBeLessThan(first);
    const cos = tf.tidy(() => tf.sum(tf.mul(tf.div(u, tf.norm(u, 2, 1, true)), tf.div(v, tf.norm(v, 2, 1, true))), 1));
    const c = Array.from(cos.dataSync());
    for (let i = 1; i < 5; i++) expect(c[i]!).toBeGreaterThan(c[i - 1]!);
    tf.dispose([u, v, cos]);
    opt.dispose();
  });

  it('bad input: typed errors naming the argument', () => {
    const u = tf.zeros([3, 2]) as tf.Tensor2D;
    const v = tf.zeros([3, 2]) as tf.Tensor2D;
    const w = tf.zeros([2, 2]) as tf.Tensor2D;
    expect(() => cosentLoss(u, w, [1, 2, 3])).toThrow(ShapeError);
    expect(() => cosentLoss(u, v, [1, 2])).toThrow(/cosentLoss.*scores/);
    expect(() => cosentLoss(u, v, [1, 2, NaN])).toThrow(InvalidArgumentError);
    expect(() => cosentLoss(u, v, [1, 2, 3], { scale: 0 })).toThrow(/options\.scale/);
    expect(() => cosentLoss(u, v, 'abc' as never)).toThrow(InvalidArgumentError);
    expect(() => cosentLoss(u, tf.zeros([3, 2], 'int32') as tf.Tensor2D, [1, 2, 3])).toThrow(InvalidArgumentError);
    tf.dispose([u, v, w]);
  });
});
