import * as tf from '@tensorflow/tfjs-core';
import {
  cvLoss,
  InvalidArgumentError,
  normalize,
  pentachoronCV,
  pentachoronCVAsync,
  ShapeError,
  type CvLossOptions,
  type PentachoronCVOptions,
  type PentachoronCVResult,
} from '@geolip/geometry';

import { Constellation } from './constellation.js';
import { checkMatrixTensor, checkNumber, describe } from './internal/module-checks.js';

/** Options of {@link spreadLoss}. */
export interface SpreadLossOptions {
  /** Pairs with cosine above this are penalized. Default 0 (the author's `target_cos`). In [−1, 1]. */
  targetCos?: number;
}

/**
 * Spread loss (spec §8.6): pushes the anchors apart by penalizing every pair whose cosine exceeds
 * `targetCos`.
 *
 *     Â = rownorm(anchors);   L = 1/(K(K−1)) · Σ_{i ≠ j} ReLU(⟨Â_i, Â_j⟩ − targetCos)
 *
 * @param anchors - `[K, D]` anchors (normalized here), K ≥ 2, or a {@link Constellation} (its raw
 *   variable is used, so gradients reach it).
 * @returns scalar loss ≥ 0; one new tensor.
 *
 * @throws {ShapeError} if `anchors` is not `[K, D]` with K ≥ 2.
 * @throws {InvalidArgumentError} if `anchors` is not float32 or `targetCos` is outside [−1, 1].
 *
 * @remarks
 * - Mean over the K(K−1) ordered off-diagonal pairs (each unordered pair counted twice, as the
 *   author's mask over the full Gram matrix). The dual-stream v6 weight is 0.001 (spec §8.6).
 * - Differentiable (ReLU has gradient 0 below the target, so orthogonal anchors get no push).
 *   O(K²·D); stays on the backend; NaN in an anchor makes the loss NaN.
 *
 * @example
 * spreadLoss(tf.tensor2d([[1, 0], [1, 0], [0, 1]])).print(); // 2/6 ≈ 0.3333333 (the one identical pair, twice)
 *
 * @see spec §8.6 (the dual-stream trainers' spread loss).
 */
export function spreadLoss(anchors: Constellation | tf.Tensor2D, options: SpreadLossOptions = {}): tf.Scalar {
  const op = 'spreadLoss';
  const raw = anchorTensor(op, anchors, 2);
  const target = checkNumber(op, 'targetCos', options.targetCos ?? 0, -1, 1);
  const k = raw.shape[0];
  return tf.tidy(() => {
    const unit = normalize(raw);
    const gram = tf.matMul(unit, unit, false, true);
    const offDiagonal = tf.sub(tf.onesLike(gram), tf.eye(k));
    return tf.div(tf.sum(tf.mul(tf.relu(tf.sub(gram, target)), offDiagonal)), k * (k - 1)) as tf.Scalar;
  });
}

/**
 * Anchor CV loss (spec §2.4): the differentiable CV loss of `@geolip/geometry` applied to the
 * normalized anchors as a point set.
 *
 *     L = (CV(rownorm(anchors)) − target)²,   CV from `samples` random pentachora (see `cvLoss`)
 *
 * @param anchors - `[K, D]` anchors, K ≥ 5, or a {@link Constellation} (gradients reach its variable).
 * @param target - the CV to pull toward. Default 0.2 ([INFER]: spec §2.4 says "presumably 0.2 or 0.22").
 * @param options - as geometry's `cvLoss`: `samples` (default 64), `seed` / `rng`, `pool` (default 512: only
 *   the first 512 anchors are sampled), `minValid`.
 * @returns scalar loss; 0 (zero gradient) when fewer than `minValid` simplices are valid. One new tensor.
 *
 * @throws {ShapeError} if `anchors` is not `[K, D]` with K ≥ 5.
 * @throws {InvalidArgumentError} for a non-float32 tensor or bad options.
 *
 * @remarks Simplex indices are drawn on the CPU; everything else stays on the backend. The dual-stream v6
 * weight is 0.05 (spec §2.4).
 *
 * @example
 * const g = tf.variableGrads(() => anchorCVLoss(constellation, 0.2, { seed: 1 }), constellation.trainableVariables);
 */
export function anchorCVLoss(
  anchors: Constellation | tf.Tensor2D,
  target = 0.2,
  options: CvLossOptions = {},
): tf.Scalar {
  const op = 'anchorCVLoss';
  const raw = anchorTensor(op, anchors, 5);
  checkNumber(op, 'target', target);
  return tf.tidy(() => cvLoss(normalize(raw), target, options));
}

/**
 * Anchor CV metric (spec §2.4): geometry's float64 `pentachoronCV` on the normalized anchors,
 * what the author's logs print as "anchor constellation: CV=0.2002 [200/200 valid]".
 *
 * @param anchors - `[K, D]` anchors, K ≥ 5, or a {@link Constellation}.
 * @param options - as `pentachoronCV`: `samples` (default 200), `seed` (default 0), `pool` (default 512).
 * @returns `{ cv, valid, total, meanVolume }`; cv is NaN when fewer than `minValid` simplices are valid.
 *
 * @throws {ShapeError} if `anchors` is not `[K, D]` with K ≥ 5. @throws {NonFiniteError} if an anchor holds NaN/Inf.
 *
 * @remarks Reads the normalized anchors to the CPU with `dataSync` (use {@link anchorCVAsync} on webgpu).
 * Not differentiable: use {@link anchorCVLoss} to train.
 *
 * @example
 * anchorCV(new Constellation({ anchors: 64, dim: 16, init: 'xavier' })).cv; // ≈ 0.2 (random points on S^15)
 */
export function anchorCV(
  anchors: Constellation | tf.Tensor2D,
  options: PentachoronCVOptions = {},
): PentachoronCVResult {
  const raw = anchorTensor('anchorCV', anchors, 5);
  const unit = normalize(raw);
  try {
    return pentachoronCV(unit, options);
  } finally {
    unit.dispose();
  }
}

/** {@link anchorCV} reading the anchors asynchronously (no GPU stall; works on webgpu). Same result. */
export async function anchorCVAsync(
  anchors: Constellation | tf.Tensor2D,
  options: PentachoronCVOptions = {},
): Promise<PentachoronCVResult> {
  const raw = anchorTensor('anchorCVAsync', anchors, 5);
  const unit = normalize(raw);
  try {
    return await pentachoronCVAsync(unit, options);
  } finally {
    unit.dispose();
  }
}

/** The raw `[K, D]` anchors of a Constellation or a checked tensor. */
function anchorTensor(op: string, anchors: unknown, minAnchors: number): tf.Tensor2D {
  if (anchors instanceof Constellation) {
    if (anchors.numAnchors < minAnchors) {
      throw new ShapeError(op, 'anchors', `[K, D] with K >= ${minAnchors}`, anchors.anchors.shape);
    }
    return anchors.anchors as tf.Tensor2D;
  }
  if (!(anchors instanceof tf.Tensor))
    throw new InvalidArgumentError(op, 'anchors', `must be a Constellation or a tf.Tensor2D, got ${describe(anchors)}`);
  const shape = checkMatrixTensor(op, 'anchors', anchors, 'K', 'D');
  if (shape[0] < minAnchors) throw new ShapeError(op, 'anchors', `[K, D] with K >= ${minAnchors}`, shape);
  return anchors as tf.Tensor2D;
}
