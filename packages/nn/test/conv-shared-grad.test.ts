// Regression (issue 23): a Conv2d whose output gradient dy is shared with another consumer (z + conv(q), z from a
// matMul) must leave dy intact for that consumer. On wasm the composed weight gradient used to corrupt it: the
// matMul's weight gradient came out NaN. Checked against the closed form ∂L/∂W = gᵀ·r for L = Σ (g·W + conv(q)) ⊙ r.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { Conv2d } from '../src/index.js';

describe('Conv2d gradient with a shared output gradient', () => {
  it('∂L/∂W of a matMul added to a conv output equals gᵀ·r', async () => {
    const b = 8;
    const g = tf.randomNormal([b, 16], 0, 1, 'float32', 1) as tf.Tensor2D;
    const q = tf.randomNormal([b, 7, 7, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const r = tf.randomNormal([b, 7 * 7 * 8], 0, 1, 'float32', 3) as tf.Tensor2D;
    const w = tf.variable(tf.randomNormal([16, 7 * 7 * 8], 0, 0.1, 'float32', 4));
    const conv = new Conv2d(1, 8, 3, { padding: 1, seed: 5 });
    const { grads } = tf.variableGrads(
      () =>
        tf.sum(tf.mul(tf.add(tf.reshape(tf.matMul(g, w), [b, 7, 7, 8]), conv.forward(q)), tf.reshape(r, [b, 7, 7, 8]))),
      [w, ...Object.values(conv.getWeights())],
    );
    const expected = tf.matMul(g, r, true, false);
    const diff = tf.max(tf.abs(tf.sub(grads[w.name]!, expected)));
    expect((await diff.data())[0]).toBeLessThan(1e-4);
    tf.dispose([g, q, r, w, expected, diff, ...Object.values(grads)]);
    conv.dispose();
  });
});
