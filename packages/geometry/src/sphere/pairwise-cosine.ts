import * as tf from '@tensorflow/tfjs-core';

import { bindShapes } from '../checks/assert-shape.js';
import { assertFloatTensor } from '../checks/tensor-checks.js';
import { normalize } from './normalize.js';

/**
 * Cosine similarity of every row of `a` with every row of `b`.
 *
 *     C[i, j] = ⟨aᵢ, bⱼ⟩ / (max(‖aᵢ‖, ε) · max(‖bⱼ‖, ε))
 *
 * @param a - `[N, D]` vectors (any norm). @param b - `[M, D]` vectors.
 * @returns `[N, M]` cosines in [−1, 1]; a zero row gives cosines 0 (ε = 1e-12, as {@link normalize}).
 *
 * @throws {ShapeError} if `a` or `b` is not rank 2 or their D differ.
 * @throws {InvalidArgumentError} for non-float32 input.
 *
 * @remarks Differentiable; one matmul on the backend, O(N·M·D). The gpu.js kernel
 * `pairwiseCosine` of `@geolip/geometry/gpu` is parity-tested against this function.
 *
 * @example
 * pairwiseCosine(tf.tensor2d([[1, 0]]), tf.tensor2d([[1, 1], [0, 2]])).print(); // [[0.7071, 0]]
 */
export function pairwiseCosine(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const shapes = bindShapes('pairwiseCosine');
  assertFloatTensor('pairwiseCosine', 'a', a);
  assertFloatTensor('pairwiseCosine', 'b', b);
  shapes.check('a', a, ['N', 'D']);
  shapes.check('b', b, ['M', 'D']);
  return tf.tidy(() => tf.clipByValue(tf.matMul(normalize(a), normalize(b), false, true), -1, 1));
}
