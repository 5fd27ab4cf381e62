import * as tf from '@tensorflow/tfjs-core';

import { assertFloatTensor, assertSameShape } from '../checks/tensor-checks.js';

/**
 * Orthogonal projection of a vector onto the tangent space of S^{D−1} at a base point.
 *
 *     Pₓ(v) = v − ⟨v, x⟩ x
 *
 * @param basePoint - `[..., D]` points x on S^{D−1}.
 * @param vector - `[..., D]` ambient vectors v, the shape of `basePoint`.
 * @returns `[..., D]` tangent vectors, each orthogonal to its base point.
 *
 * @throws {ShapeError} if the shapes differ. @throws {InvalidArgumentError} for non-float32 input.
 *
 * @remarks Differentiable; the formula assumes ‖x‖ = 1 (not checked). This is the projection
 * the geometric autograd of `@geolip/anchors` applies to gradients (spec §7).
 *
 * @example
 * tangentProject(tf.tensor2d([[1, 0]]), tf.tensor2d([[3, 4]])).print(); // [[0, 4]]
 */
export function tangentProject(basePoint: tf.Tensor, vector: tf.Tensor): tf.Tensor {
  assertFloatTensor('tangentProject', 'basePoint', basePoint);
  assertFloatTensor('tangentProject', 'vector', vector);
  assertSameShape('tangentProject', 'basePoint', basePoint, 'vector', vector);
  return tf.tidy(() => tf.sub(vector, tf.mul(tf.sum(tf.mul(vector, basePoint), -1, true), basePoint)));
}
