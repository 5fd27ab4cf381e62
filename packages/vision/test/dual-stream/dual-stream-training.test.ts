// A tiny DualStreamViT learns a toy 2-class problem (16 images 8 × 8 × 1, patch 4) with tf.train.adam:
// the loss (CE on logits + CE on geoLogits) after 12 steps is well below the loss at the start.
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@geolip/geometry';
import { describe, expect, it } from 'vitest';

import { DUAL_STREAM_AUTOGRAD, DualStreamViT } from '../../src/index.js';

/** Class 0 = +P, class 1 = −P for a fixed random ±1 pattern P, plus uniform noise in [−0.5, 0.5]. */
function toyBatch(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const rng = createRng(seed);
  const size = 8 * 8;
  const pattern = Float32Array.from({ length: size }, () => (rng.uniform() < 0.5 ? -1 : 1));
  const data = new Float32Array(n * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let j = 0; j < size; j++) data[i * size + j] = (i % 2 === 0 ? 1 : -1) * pattern[j]! + (rng.uniform() - 0.5);
  }
  return { x: tf.tensor4d(data, [n, 8, 8, 1]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 2) as tf.Tensor2D };
}

describe('DualStreamViT training sanity', () => {
  it('reduces the classification loss on a toy 2-class problem in 12 Adam steps (with geometric autograd)', () => {
    const m = new DualStreamViT(
      {
        imageSize: 8,
        patchSize: 4,
        channels: 1,
        embedDim: 16,
        streamDim: 8,
        heads: 2,
        dualBlocks: 1,
        crossBlocks: 1,
        fusedBlocks: 0,
        outDim: 8,
        anchors: 8,
        compartments: 2,
        compartmentDim: 4,
        classifierHidden: 16,
        classes: 2,
      },
      { seed: 0 },
    );
    const { x, y } = toyBatch(16, 1);
    const lossFn = (): tf.Scalar => {
      const o = m.forward(x, { training: true, autograd: DUAL_STREAM_AUTOGRAD });
      return tf.add(
        tf.losses.softmaxCrossEntropy(y, o.logits),
        tf.losses.softmaxCrossEntropy(y, o.geoLogits),
      ) as tf.Scalar;
    };
    const vars = Object.values(m.getWeights());
    const opt = tf.train.adam(0.01);
    const first = tf.tidy(() => lossFn().dataSync()[0]!);
    for (let step = 0; step < 12; step++) tf.tidy(() => void opt.minimize(lossFn, false, vars));
    const last = tf.tidy(() => lossFn().dataSync()[0]!);
    expect(Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(0.5 * first);
    opt.dispose();
    tf.dispose([x, y]);
    m.dispose();
  });
});
