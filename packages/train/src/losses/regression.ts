import * as tf from '@tensorflow/tfjs-core';
import { normalize, procrustes, whitenedProcrustes } from '@geolip/geometry';
import { assertFloatTensor, assertSameShape } from '@geolip/geometry/checks';

import { assertNumber, bindShapes, checkFloat, readBool, readChoice } from './checks.js';

/**
 * Mean squared error to a target (spec §8.2: MSE to the consensus), mean over every element.
 *
 *     L = (1/n) Σ (pred − target)²     (n = number of elements; PyTorch `mse_loss`, mean reduction)
 *
 * @param pred - `[...]` predictions (e.g. `[B, D]` student embeddings).
 * @param target - `[...]` targets of the same shape (e.g. consensus embeddings).
 * @returns scalar loss; one new tensor.
 *
 * @throws {ShapeError} if the shapes differ. @throws {InvalidArgumentError} for non-float32 inputs.
 *
 * @remarks For unit rows of width D this is (2 − 2cos)/D per row. O(n); stays on the backend.
 * Gradient flows to both arguments (wrap the target in a constant if it must not move).
 *
 * @example
 * mseLoss(tf.tensor1d([1, 2]), tf.tensor1d([3, 5])).dataSync()[0]; // (4 + 9)/2 = 6.5
 */
export function mseLoss(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  const op = 'mseLoss';
  assertFloatTensor(op, 'pred', pred, 1);
  assertFloatTensor(op, 'target', target, 1);
  assertSameShape(op, 'pred', pred, 'target', target);
  return tf.tidy(() => tf.mean(tf.squaredDifference(pred, target)) as tf.Scalar);
}

/** Options of {@link procrustesAlignmentLoss}. */
export interface ProcrustesAlignmentOptions {
  /** `'cosine'`: 1 − mean cos (default); `'mse'`: mean squared error after alignment. */
  reduction?: 'cosine' | 'mse';
  /** Fit whitened Procrustes (spec §3.2–3.3, an affine map) instead of orthogonal Procrustes. Default false. */
  whitened?: boolean;
  /** Whitening shrinkage (only with `whitened`). Default 1e-3. */
  shrinkage?: number;
  /** Allow det R = −1 (orthogonal mode). Default true. */
  allowReflection?: boolean;
}

/**
 * Procrustes alignment loss (spec §8.4, form [INFER]): fit the best rotation from the student batch
 * to the target batch **without gradient**, then score the rotated student against the target.
 *
 *     R = argmin_{RᵀR=I} ‖S·R − T‖_F  (float64 SVD on the CPU, detached);   A = S·R
 *     L = 1 − (1/B) Σ_i cos(A_i, T_i)      (reduction 'cosine')   or   mean((A − T)²)   ('mse')
 *
 * With `whitened: true` the map is geometry's `whitenedProcrustes` (rowNormalize off) affine map
 * A = S·L + b, also detached.
 *
 * @param student - `[B, D]` student embeddings (gradients flow here).
 * @param target - `[B, D]` target (consensus) embeddings, treated as constants.
 * @returns scalar loss; one new tensor.
 *
 * @throws {ShapeError} if `student` is not `[B, D]` or `target` is not the same `[B, D]`.
 * @throws {InvalidArgumentError} for non-float32 inputs or bad options.
 *
 * @remarks
 * - [INFER] The card names a "whitened Procrustes alignment" loss without a formula; this follows
 *   the spec's suggestion. The default is the orthogonal map (a pure rotation keeps the loss about
 *   the geometry of the batch, not its scale); `whitened` gives the card's variant.
 * - **Reads both inputs to the CPU** (`dataSync`) to fit R in float64: O(B·D² + D³) per call.
 *   The gradient treats R (and the whitened map) as constants and does not flow to `target`.
 * - A NaN row makes the fit throw `NonFiniteError` (geometry's float64 functions check their input).
 *
 * @example
 * // A 90° rotation is undone exactly: loss 0.
 * procrustesAlignmentLoss(tf.tensor2d([[0, 1], [-1, 0]]), tf.tensor2d([[1, 0], [0, 1]])).dataSync()[0]; // ≈ 0
 */
export function procrustesAlignmentLoss(
  student: tf.Tensor2D,
  target: tf.Tensor2D,
  options: ProcrustesAlignmentOptions = {},
): tf.Scalar {
  const op = 'procrustesAlignmentLoss';
  const shapes = bindShapes(op);
  checkFloat(op, shapes, 'student', student, ['B', 'D']);
  checkFloat(op, shapes, 'target', target, ['B', 'D']);
  const reduction = readChoice(op, 'reduction', options.reduction, ['cosine', 'mse'] as const, 'cosine');
  const whitened = readBool(op, 'whitened', options.whitened, false);
  const allowReflection = readBool(op, 'allowReflection', options.allowReflection, true);
  const shrinkage = assertNumber(op, 'shrinkage', options.shrinkage ?? 1e-3, 0);
  const d = student.shape[1];
  let linear: Float64Array;
  let bias: Float64Array | undefined;
  if (whitened) {
    const fit = whitenedProcrustes(student, target, { shrinkage, rowNormalize: false, allowReflection });
    linear = fit.linear.data;
    bias = fit.bias;
  } else {
    linear = procrustes(student, target, { allowReflection }).rotation.data;
  }
  return tf.tidy(() => {
    const map = tf.tensor2d(Float32Array.from(linear), [d, d]);
    let aligned: tf.Tensor2D = tf.matMul(student, map);
    if (bias) aligned = tf.add(aligned, tf.tensor1d(Float32Array.from(bias)));
    if (reduction === 'mse') return tf.mean(tf.squaredDifference(aligned, target)) as tf.Scalar;
    const cos = tf.sum(tf.mul(normalize(aligned), normalize(target)), 1);
    return tf.sub(1, tf.mean(cos)) as tf.Scalar;
  });
}
