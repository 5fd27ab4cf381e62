// A tiny ViTEncoder learns a toy 2-class problem (8 × 8 images, patch 4) with a plain tfjs optimizer:
// the loss after 15 Adam steps is well below the loss at the start.
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { ViTEncoder } from '../../src/index.js';

/**
 * A fixed random ±1 pattern P (8 × 8 × 3); class 0 images are +P, class 1 images −P, plus uniform noise in
 * [−0.5, 0.5]. (Not "bright left half vs right half": every patch differs between the classes here, while
 * those two classes hold the same set of patches, which mean pooling only separates through the positions.)
 */
function toyBatch(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = createRng(seed);
  const size = 8 * 8 * 3;
  const pattern = Float32Array.from({ length: size }, () => (rng.uniform() < 0.5 ? -1 : 1));
  const data = new Float32Array(n * size);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    labels[i] = label;
    for (let j = 0; j < size; j++) data[i * size + j] = (label === 0 ? 1 : -1) * pattern[j]! + (rng.uniform() - 0.5);
  }
  return { x: tf.tensor4d(data, [n, 8, 8, 3]), y: tf.tensor1d(labels) };
}

describe('ViTEncoder training sanity', () => {
  it('reduces a cross-entropy loss on a toy 2-class problem in 15 Adam steps', () => {
    const m = new ViTEncoder(
      { imageSize: 8, patchSize: 4, channels: 3, dModel: 16, heads: 2, ffDim: 32, layers: 2, outDim: 8 },
      { seed: 0 },
    );
    const { x, y } = toyBatch(16, 1);
    // Two fixed class prototypes on S^7; logits = 5·⟨embedding, prototype⟩.
    const prototypes = tf.tensor2d([
      [1, 0, 0, 0, 0, 0, 0, 0],
      [0, 1, 0, 0, 0, 0, 0, 0],
    ]);
    const onehot = tf.oneHot(tf.cast(y, 'int32'), 2);
    const lossFn = (): tf.Scalar =>
      tf.losses.softmaxCrossEntropy(onehot, tf.mul(5, tf.matMul(m.forward(x), prototypes, false, true))) as tf.Scalar;
    const vars = Object.values(m.getWeights());
    const opt = tf.train.adam(0.01);
    const first = tf.tidy(() => lossFn().dataSync()[0]!);
    for (let step = 0; step < 15; step++) tf.tidy(() => void opt.minimize(lossFn, false, vars));
    const last = tf.tidy(() => lossFn().dataSync()[0]!);
    expect(Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(0.5 * first);
    opt.dispose();
    tf.dispose([x, y, prototypes, onehot]);
    m.dispose();
  });
});
