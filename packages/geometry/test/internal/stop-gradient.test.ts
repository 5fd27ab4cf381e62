import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { stopGradient } from '../../src/internal/grad-utils.js';

describe('stopGradient', () => {
  it('is the identity forward and sends a zero gradient back', () => {
    const x = tf.variable(tf.tensor1d([1, -2, 3]));
    const { value, grads } = tf.variableGrads(
      () => tf.add(tf.sum(tf.mul(stopGradient(x), x)), tf.sum(stopGradient(tf.square(x)))) as tf.Scalar,
      [x],
    );
    // d/dx Σ sg(x)·x = sg(x) = x; the stopped Σ x² adds nothing to the gradient.
    expect(value.dataSync()[0]).toBe(14 + 14);
    expect(Array.from(grads[x.name]!.dataSync())).toEqual([1, -2, 3]);
    expect(Array.from(stopGradient(x).dataSync())).toEqual([1, -2, 3]);
  });
});
