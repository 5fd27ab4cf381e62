import * as tf from '@tensorflow/tfjs-core';
import { normalize as l2normalize } from '@geolip/geometry';

import { assertNumber, bindShapes, checkFloat, readBool } from './checks.js';

/** Options of {@link infoNCE}. */
export interface InfoNCEOptions {
  /** τ, the softmax temperature. Default 0.07 (spec §8.1; patchwork / triangulation NCE use 0.1). > 0. */
  temperature?: number;
  /** L2-normalize both inputs first. Default true. */
  normalize?: boolean;
  /** Average CE(S) and CE(Sᵀ) (captionbank form). Default true; false is geolip-core's one-directional `nce_loss`. */
  symmetric?: boolean;
}

/** Result of {@link infoNCE}: two new scalar tensors the caller disposes. */
export interface InfoNCEResult {
  /** `[]` the InfoNCE loss (differentiable). */
  loss: tf.Scalar;
  /** `[]` the row-argmax accuracy mean_i [argmax_j S_ij = i] in [0, 1] (no gradient). */
  accuracy: tf.Scalar;
}

/**
 * InfoNCE between paired rows (spec §8.1): row i of `z1` should match row i of `z2` against the
 * other B − 1 rows of the batch.
 *
 *     ẑ = z/‖z‖ (if normalize);   S = ẑ1 ẑ2ᵀ / τ;
 *     CE(S) = (1/B) Σ_i [logΣ_j exp S_ij − S_ii];   L = (CE(S) + CE(Sᵀ))/2 (symmetric) or CE(S)
 *     accuracy = (1/B) Σ_i [argmax_j S_ij = i]
 *
 * @param z1 - `[B, D]` first view (or student) embeddings, B ≥ 1.
 * @param z2 - `[B, D]` second view (or consensus target) embeddings.
 * @param options - `temperature` (default 0.07), `normalize` (default true), `symmetric` (default true).
 * @returns `{loss, accuracy}`, two new scalar tensors.
 *
 * @throws {ShapeError} if `z1` is not `[B, D]` or `z2` is not the same `[B, D]`.
 * @throws {InvalidArgumentError} for a non-float32 input or a non-positive `temperature`.
 *
 * @remarks
 * - geolip-core's `nce_loss` is one-directional (`symmetric: false`); the captionbank card uses the
 *   symmetric form with τ = 0.07, which is the default here (spec §8.1 recommends it for
 *   student ↔ consensus).
 * - The accuracy is that of the rows of S (z1 → z2) in both modes; a tie resolves to the lowest
 *   column (tf.argMax).
 * - The CE uses logSumExp (stable for small τ). O(B²·D); stays on the backend. A NaN row makes
 *   the loss NaN. Differentiable in both inputs (no gather).
 *
 * @example
 * const { loss, accuracy } = infoNCE(tf.eye(2) as tf.Tensor2D, tf.eye(2) as tf.Tensor2D, { temperature: 1 });
 * loss.dataSync()[0];     // log(1 + e⁻¹) ≈ 0.3132617
 * accuracy.dataSync()[0]; // 1
 *
 * @see geolip-core `core/distinguish/losses.py::nce_loss`.
 */
export function infoNCE(z1: tf.Tensor2D, z2: tf.Tensor2D, options: InfoNCEOptions = {}): InfoNCEResult {
  const op = 'infoNCE';
  const shapes = bindShapes(op);
  checkFloat(op, shapes, 'z1', z1, ['B', 'D']);
  checkFloat(op, shapes, 'z2', z2, ['B', 'D']);
  const tau = assertNumber(op, 'temperature', options.temperature ?? 0.07, Number.MIN_VALUE);
  const norm = readBool(op, 'normalize', options.normalize, true);
  const symmetric = readBool(op, 'symmetric', options.symmetric, true);
  const b = z1.shape[0];
  const loss = tf.tidy(() => {
    const a = norm ? l2normalize(z1) : z1;
    const c = norm ? l2normalize(z2) : z2;
    const s = tf.div(tf.matMul(a, c, false, true), tau) as tf.Tensor2D;
    const diag = tf.sum(tf.mul(s, tf.eye(b)), 1);
    const rows = tf.mean(tf.sub(tf.logSumExp(s, 1), diag));
    if (!symmetric) return rows as tf.Scalar;
    const cols = tf.mean(tf.sub(tf.logSumExp(s, 0), diag));
    return tf.div(tf.add(rows, cols), 2) as tf.Scalar;
  });
  const accuracy = tf.tidy(() => {
    const a = norm ? l2normalize(z1) : z1;
    const c = norm ? l2normalize(z2) : z2;
    const s = tf.matMul(a, c, false, true);
    const hit = tf.equal(tf.argMax(s, 1), tf.range(0, b, 1, 'int32'));
    return tf.mean(tf.cast(hit, 'float32')) as tf.Scalar;
  });
  return { loss, accuracy };
}
