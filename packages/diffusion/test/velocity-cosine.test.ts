// velocityCosine: hand-derived per-sample cosines averaged over the batch, invariance to each sample's scale, and the
// shape errors.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { ShapeError, velocityCosine } from '../src/index.js';

const value = (t: tf.Scalar): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

describe('velocityCosine', () => {
  it('hand-derived: equal 1, opposite −1, orthogonal 0, batch mean', () => {
    const v = tf.tensor2d([[1, 2, 2]]);
    expect(value(velocityCosine(v, v))).toBeCloseTo(1, 6);
    expect(value(velocityCosine(tf.neg(v), v))).toBeCloseTo(-1, 6);
    expect(value(velocityCosine(tf.tensor2d([[2, -1, 0]]), v))).toBeCloseTo(0, 6);
    // (1, 0)·(2, 0) → 1; (1, 1)·(−1, 1) → 0: mean 0.5.
    expect(
      value(
        velocityCosine(
          tf.tensor2d([
            [1, 0],
            [1, 1],
          ]),
          tf.tensor2d([
            [2, 0],
            [-1, 1],
          ]),
        ),
      ),
    ).toBeCloseTo(0.5, 6);
    // (3, 4)·(4, 3) = 24 over 5·5: 0.96.
    expect(value(velocityCosine(tf.tensor2d([[3, 4]]), tf.tensor2d([[4, 3]])))).toBeCloseTo(0.96, 6);
  });

  it('images [B, H, W, C]: each sample flattened, the scale of a sample does not matter', () => {
    const target = tf.randomNormal([3, 4, 4, 1], 0, 1, 'float32', 2);
    const pred = tf.add(target, tf.randomNormal([3, 4, 4, 1], 0, 0.5, 'float32', 3));
    const scaled = tf.mul(pred, tf.tensor4d([0.1, 1, 7], [3, 1, 1, 1]));
    expect(value(velocityCosine(scaled, target))).toBeCloseTo(value(velocityCosine(pred, target)), 5);
    // The mean of the three per-sample cosines, computed row by row.
    const rows = [0, 1, 2].map((i) =>
      value(velocityCosine(tf.slice(pred, [i, 0, 0, 0], [1, 4, 4, 1]), tf.slice(target, [i, 0, 0, 0], [1, 4, 4, 1]))),
    );
    expect(value(velocityCosine(pred, target))).toBeCloseTo((rows[0]! + rows[1]! + rows[2]!) / 3, 5);
    tf.dispose([target, pred, scaled]);
  });

  it('a zero prediction gives 0 (the 1e-12 guard), not NaN; shapes must match', () => {
    expect(value(velocityCosine(tf.zeros([1, 3]), tf.ones([1, 3])))).toBe(0);
    expect(() => velocityCosine(tf.zeros([2, 3]), tf.zeros([2, 4]))).toThrow(ShapeError);
    expect(() => velocityCosine(tf.zeros([2, 3]), tf.zeros([2, 4]))).toThrow(/velocityCosine: 'target'/);
  });
});
