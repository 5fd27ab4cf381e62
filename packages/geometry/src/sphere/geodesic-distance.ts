import * as tf from '@tensorflow/tfjs-core';

import { assertFloatTensor, assertSameShape } from '../checks/tensor-checks.js';

/**
 * Great-circle distance between paired points on the unit sphere S^{D−1}.
 *
 *     d(u, v) = arccos⟨u, v⟩                      (definition)
 *             = 2 · atan2(‖u − v‖, ‖u + v‖)        (what is computed)
 *
 * The two agree for unit vectors. The atan2 form keeps float32 precision at small and near-π
 * angles: at 1e-4 rad, ⟨u, v⟩ rounds to exactly 1 in float32 and arccos returns 0.
 *
 * @param u - `[..., D]` points on S^{D−1}.
 * @param v - `[..., D]` points on S^{D−1}, the same shape as `u`, paired entry by entry.
 * @returns `[...]` distances in radians, each in [0, π].
 *
 * @throws {ShapeError} if `v` does not have the shape of `u`, or `u` is a scalar.
 * @throws {InvalidArgumentError} if either is not a float32 tensor.
 *
 * @remarks
 * - Rows are assumed unit-norm and not checked (that would read tensor data); use {@link normalize} first.
 * - NaN or Inf in a row gives NaN for that row only.
 * - Not differentiable at u = v (like |x| at 0). O(size); one new tensor.
 *
 * @example
 * geodesicDistance(tf.tensor2d([[1, 0], [1, 0]]), tf.tensor2d([[0, 1], [-1, 0]])).print(); // [π/2, π]
 */
export function geodesicDistance(u: tf.Tensor, v: tf.Tensor): tf.Tensor {
  assertFloatTensor('geodesicDistance', 'u', u);
  assertFloatTensor('geodesicDistance', 'v', v);
  assertSameShape('geodesicDistance', 'u', u, 'v', v);
  return tf.tidy(() => {
    const chordMinus = tf.sqrt(tf.sum(tf.square(tf.sub(u, v)), -1)); // 2 sin(d/2)
    const chordPlus = tf.sqrt(tf.sum(tf.square(tf.add(u, v)), -1)); //  2 cos(d/2)
    return tf.mul(2, tf.atan2(chordMinus, chordPlus));
  });
}
