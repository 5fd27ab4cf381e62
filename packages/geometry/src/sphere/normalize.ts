import * as tf from '@tensorflow/tfjs-core';

import { assertNumber } from '../checks/assert-shape.js';
import { assertFloatTensor } from '../checks/tensor-checks.js';

export interface NormalizeOptions {
  /** Lower bound on the norm in the denominator, as PyTorch's `F.normalize`. Default 1e-12. */
  epsilon?: number;
}

/**
 * Projects every row (last axis) onto the unit sphere S^{D−1}.
 *
 *     normalize(x) = x / max(‖x‖₂, ε)
 *
 * @param x - `[..., D]` vectors.
 * @returns `[..., D]` unit vectors; a zero row stays zero (‖0‖ < ε), matching PyTorch (spec §14.3).
 *
 * @throws {InvalidArgumentError} if `x` is not a float32 tensor or `epsilon` is not a positive number.
 * @throws {ShapeError} if `x` is a scalar.
 *
 * @remarks
 * - Differentiable. NaN/Inf in a row make that row NaN only.
 * - O(size of x); one new tensor, intermediates disposed.
 *
 * @example
 * normalize(tf.tensor2d([[3, 4], [0, 0]])).print(); // [[0.6, 0.8], [0, 0]]
 */
export function normalize<T extends tf.Tensor>(x: T, options: NormalizeOptions = {}): T {
  assertFloatTensor('normalize', 'x', x);
  const epsilon = assertNumber('normalize', 'epsilon', options.epsilon ?? 1e-12, Number.MIN_VALUE);
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(x), -1, true));
    return tf.div(x, tf.maximum(norm, epsilon)) as T;
  });
}
