import * as tf from '@tensorflow/tfjs-core';
import { createRng, cvLoss, normalize, pentachoronCV, ShapeError } from '@geolip/geometry';
import { expectTensorClose } from '@geolip/geometry/testing';
import { describe, expect, it } from 'vitest';

import { Constellation } from '../src/constellation.js';
import { anchorCV, anchorCVAsync, anchorCVLoss, spreadLoss } from '../src/losses.js';

describe('spreadLoss', () => {
  it('is the mean over i ≠ j of ReLU(cos − targetCos) on hand cases', () => {
    expectTensorClose(
      spreadLoss(
        tf.tensor2d([
          [1, 0],
          [2, 0],
          [0, 1],
        ]),
      ),
      2 / 6,
      { atol: 1e-7 },
    );
    expectTensorClose(
      spreadLoss(
        tf.tensor2d([
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 3],
        ]),
      ),
      0,
      { atol: 1e-7 },
    );
    // cos = −1 and targetCos = −0.5: ReLU(−0.5) = 0; with [1, 1]/√2 vs [1, 0]: cos ≈ 0.7071.
    expectTensorClose(
      spreadLoss(
        tf.tensor2d([
          [1, 0],
          [1, 1],
        ]),
        { targetCos: 0.5 },
      ),
      Math.SQRT1_2 - 0.5,
      { atol: 1e-6 },
    );
  });

  it('pulls a Constellation apart: gradients reach its variable', () => {
    const c = new Constellation({ anchors: 8, dim: 4, init: 'xavier', seed: 2 });
    const { value, grads } = tf.variableGrads(() => spreadLoss(c), c.trainableVariables);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    expect(tf.max(tf.abs(grads[c.anchors.name]!)).dataSync()[0]).toBeGreaterThan(0);
    c.dispose();
  });

  it('throws typed errors', () => {
    expect(() => spreadLoss(tf.zeros([1, 3]) as tf.Tensor2D)).toThrow(ShapeError);
    expect(() => spreadLoss(tf.zeros([3]) as never)).toThrow("spreadLoss: 'anchors' must have shape [K, D], got [3]");
    expect(() => spreadLoss(tf.zeros([3, 3]) as tf.Tensor2D, { targetCos: 2 })).toThrow(/'targetCos'/);
    expect(() => spreadLoss([[1, 0]] as never)).toThrow(/must be a Constellation or a tf.Tensor2D/);
  });
});

describe('anchorCVLoss / anchorCV', () => {
  function randomAnchors(k: number, d: number, seed: number): tf.Tensor2D {
    const rng = createRng(seed);
    return tf.tensor2d(
      Float32Array.from({ length: k * d }, () => 3 * rng.normal()),
      [k, d],
    );
  }

  it('anchorCVLoss equals cvLoss on the normalized anchors', () => {
    const a = randomAnchors(32, 8, 1);
    const expected = cvLoss(normalize(a), 0.2, { seed: 4 }).dataSync()[0]!;
    expectTensorClose(anchorCVLoss(a, 0.2, { seed: 4 }), expected, { atol: 1e-7 });
  });

  it('anchorCVLoss is differentiable with respect to a Constellation', () => {
    const c = new Constellation({ anchors: 16, dim: 6, init: 'xavier', seed: 3 });
    const { value, grads } = tf.variableGrads(() => anchorCVLoss(c, 0, { seed: 1 }), c.trainableVariables);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    const g = grads[c.anchors.name]!;
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    c.dispose();
  });

  it('anchorCV equals pentachoronCV on the normalized anchors, sync and async', async () => {
    const a = randomAnchors(64, 16, 2);
    const expected = pentachoronCV(normalize(a), { seed: 3 });
    expect(anchorCV(a, { seed: 3 })).toEqual(expected);
    expect(await anchorCVAsync(a, { seed: 3 })).toEqual(expected);
    expect(expected.cv).toBeGreaterThan(0.1);
    expect(expected.cv).toBeLessThan(0.3);
    const c = Constellation.fromAnchors(a);
    expect(anchorCV(c, { seed: 3 })).toEqual(expected);
    c.dispose();
  });

  it('needs at least 5 anchors', () => {
    expect(() => anchorCV(tf.zeros([4, 3]) as tf.Tensor2D)).toThrow(
      "anchorCV: 'anchors' must have shape [K, D] with K >= 5, got [4, 3]",
    );
    const c = new Constellation({ anchors: 4, dim: 3, init: 'xavier' });
    expect(() => anchorCVLoss(c)).toThrow(/anchorCVLoss: 'anchors' must have shape \[K, D\] with K >= 5/);
    c.dispose();
  });

  it('leaks no tensors', () => {
    const a = randomAnchors(16, 4, 5);
    const before = tf.memory().numTensors;
    tf.dispose([spreadLoss(a), anchorCVLoss(a, 0.2, { seed: 1 })]);
    anchorCV(a);
    expect(tf.memory().numTensors).toBe(before);
  });
});
