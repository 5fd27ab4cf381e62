import * as tf from '@tensorflow/tfjs-core';

import { checkFloatShape, checkMask } from './checks.js';

/**
 * Mean over the real (mask = 1) positions of each sequence (spec §10.1 step 5):
 *
 *     pool(x, m)[b, :] = Σ_l x[b, l, :]·m[b, l] / max(Σ_l m[b, l], 1)
 *
 * @param x - `[B, L, D]` float32.
 * @param mask - `[B, L]`, 1 = real token, 0 = padding (float32, int32 or bool). Fractional weights
 *   are used as given (a weighted mean, denominator clamped at 1).
 * @returns `[B, D]`; an all-padding row gives zeros.
 * @throws {ShapeError} if `x` is not rank 3 or `mask` is not `[B, L]`.
 *
 * @remarks
 * Differentiable in `x`. O(B·L·D).
 *
 * @example
 * const x = tf.tensor3d([[[1, 2], [3, 4], [100, 100]]]);
 * maskedMeanPool(x, tf.tensor2d([[1, 1, 0]])).print(); // [[2, 3]]
 */
export function maskedMeanPool(x: tf.Tensor3D, mask: tf.Tensor): tf.Tensor2D {
  const op = 'maskedMeanPool';
  const [B, L] = checkFloatShape(op, 'x', x, ['B', 'L', 'D']) as [number, number, number];
  return tf.tidy(() => {
    const m = checkMask(op, 'mask', mask, [B, L], ['B', 'L']);
    const summed = tf.sum(tf.mul(x, tf.expandDims(m, 2)), 1); // [B, D]
    const count = tf.maximum(tf.sum(m, 1, true), 1); // [B, 1]
    return tf.div(summed, count) as tf.Tensor2D;
  });
}
