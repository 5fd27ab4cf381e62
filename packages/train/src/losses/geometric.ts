import * as tf from '@tensorflow/tfjs-core';
import { cvLoss, normalize, simplexVolumeSquared, ShapeError, type CvLossOptions } from '@geolip/geometry';

import { assertFloatTensor, assertNumber, bindShapes, checkFloat, readLabels, type LabelsLike } from './checks.js';

export { spreadLoss, spreadLoss as spread } from '@geolip/anchors';
export type { SpreadLossOptions } from '@geolip/anchors';

/**
 * Pentachoron CV loss term (spec §2.1–2.2): a thin wrapper over `@geolip/geometry`'s `cvLoss`.
 *
 *     L = (CV − target)²,   CV = std(vol)/(mean(vol) + 1e-8)
 *
 * over `samples` random pentachora of the first `pool` rows.
 *
 * @param x - `[N, D]` float32 embeddings (unit rows), N ≥ 5.
 * @param target - the CV to pull toward. Default 0.22 (geolip-core); use the measured consensus CV
 *   for a student (e.g. 0.084 for CaptionBERT, spec §2.2).
 * @param options - as `cvLoss`: `samples` (64), `seed` / `rng`, `pool` (512), `minValid` (5).
 * @returns scalar loss; 0 (zero gradient) when fewer than `minValid` simplices are valid. One new tensor.
 *
 * @throws {ShapeError} if `x` is not `[N, D]` with N ≥ 5. @throws {InvalidArgumentError} for bad options.
 *
 * @remarks Indices are drawn on the CPU (seeded when `seed`/`rng` is given); everything else stays on
 * the backend and is differentiable through the simplex volumes.
 *
 * @example
 * // Five points: every sample is the same simplex, so CV = 0 and L = 0.22² = 0.0484.
 * cvLossTerm(tf.eye(5) as tf.Tensor2D, 0.22, { seed: 1 }).dataSync()[0]; // ≈ 0.0484
 */
export function cvLossTerm(x: tf.Tensor2D, target = 0.22, options: CvLossOptions = {}): tf.Scalar {
  return cvLoss(x, target, options);
}

/** Options of {@link cmValidityLoss}. */
export interface CmValidityOptions {
  /** ε: penalize V² below this instead of below 0 (spec §8.7 suggests ≈ 1e-6). Default 0. ≥ 0. */
  margin?: number;
}

/**
 * Cayley–Menger validity loss (spec §1.2, §8.7): penalizes simplices whose squared volume is negative
 * (or below a small margin).
 *
 *     V² = det(E Eᵀ)/(k!)²  with E = [p₁ − p₀, …, p_k − p₀]
 *     L = mean over simplices of ReLU(ε − V²)
 *
 * (V² is geometry's `simplexVolumeSquared`, Gram form).
 *
 * @param points - `[..., V, D]` simplices of V = k + 1 vertices in R^D, V ≥ 2 (e.g. the `[B, T, 5, D]`
 *   KSimplex simplices of the geo stream).
 * @param options - `margin` ε (default 0: exactly the glip-autoencoder form mean(ReLU(−V²))).
 * @returns scalar loss ≥ 0; one new tensor.
 *
 * @throws {ShapeError} if `points` has rank < 2 or V < 2. @throws {InvalidArgumentError} for a
 * non-float32 input or a negative margin.
 *
 * @remarks
 * - [INFER] The card gives the weight only ("CM 0.1, simplex validity, already 100%"); the form is
 *   the glip-autoencoder validity loss. With ε = 0 the Gram form gives V² ≥ 0 up to float32 rounding,
 *   so the loss is ~0 on healthy data and acts as a guard; ε > 0 also pushes up near-degenerate simplices.
 * - Differentiable through the determinant; O(S·V²·D) for S simplices; stays on the backend.
 *
 * @example
 * // Right triangle with unit legs: V² = (1/2)² = 0.25, so ReLU(0.3 − 0.25) = 0.05.
 * cmValidityLoss(tf.tensor2d([[0, 0], [1, 0], [0, 1]]), { margin: 0.3 }).dataSync()[0]; // ≈ 0.05
 */
export function cmValidityLoss(points: tf.Tensor, options: CmValidityOptions = {}): tf.Scalar {
  const op = 'cmValidityLoss';
  assertFloatTensor(op, 'points', points, 2);
  if (points.shape[points.rank - 2]! < 2) throw new ShapeError(op, 'points', '[..., V, D] with V >= 2', points.shape);
  const margin = assertNumber(op, 'margin', options.margin ?? 0, 0);
  return tf.tidy(() => tf.mean(tf.relu(tf.sub(margin, simplexVolumeSquared(points)))) as tf.Scalar);
}

/** Options of {@link geoDiversityLoss}. */
export interface GeoDiversityOptions {
  /** m: same-class pairs with cosine above this are penalized. Default 0.9 (spec §8.8). In [−1, 1]. */
  margin?: number;
}

/**
 * Geo diversity loss (spec §8.8, form [INFER]): prevents intra-class collapse of the geo embeddings by
 * penalizing same-class pairs that are too similar.
 *
 *     ĝ = g/‖g‖
 *     L = (1/|C₂|) Σ_{c ∈ C₂} 1/(n_c(n_c − 1)) Σ_{i ≠ j, y_i = y_j = c} ReLU(⟨ĝ_i, ĝ_j⟩ − m)
 *
 * where C₂ is the set of classes with n_c ≥ 2 samples in the batch.
 *
 * @param geo - `[B, D]` geo-stream embeddings (normalized here).
 * @param labels - `[B]` class ids: an int32 `tf.Tensor1D` (read to the CPU), a `number[]` or an `Int32Array`.
 * @param options - `margin` m (default 0.9).
 * @returns scalar loss ≥ 0; 0 (with zero gradient) when no class has two samples. One new tensor.
 *
 * @throws {ShapeError} if `geo` is not `[B, D]` or `labels` is not `[B]`.
 * @throws {InvalidArgumentError} for non-integer or negative labels, a non-float32 `geo` or m outside [−1, 1].
 *
 * @remarks
 * - [INFER] The card names "Geo diversity 0.5 — prevent intra-class geo collapse" without a formula;
 *   this is the spec's first suggestion (the pairwise hinge), each class weighted equally. The
 *   author's older Beatrix diversity loss is deliberately not used (spec §8.8).
 * - The pair weights are built on the CPU from the labels; the cosines stay on the backend.
 *   O(B²·D). A zero row has cosine 0 with everything (normalize keeps it zero).
 *
 * @example
 * // Two class-0 rows at 60° (cos 0.5), margin 0.3: each ordered pair gives 0.2, the class mean is 0.2.
 * geoDiversityLoss(tf.tensor2d([[1, 0], [0.5, Math.sqrt(3) / 2]]), [0, 0], { margin: 0.3 }).dataSync()[0]; // ≈ 0.2
 */
export function geoDiversityLoss(geo: tf.Tensor2D, labels: LabelsLike, options: GeoDiversityOptions = {}): tf.Scalar {
  const op = 'geoDiversityLoss';
  const shapes = bindShapes(op);
  checkFloat(op, shapes, 'geo', geo, ['B', 'D']);
  const margin = assertNumber(op, 'margin', options.margin ?? 0.9, -1, 1);
  const b = geo.shape[0];
  const y = readLabels(op, 'labels', labels, b);
  const counts = new Map<number, number>();
  for (const v of y) counts.set(v, (counts.get(v) ?? 0) + 1);
  let classes = 0;
  for (const n of counts.values()) if (n >= 2) classes++;
  const weights = new Float32Array(b * b);
  if (classes > 0) {
    for (let i = 0; i < b; i++) {
      const n = counts.get(y[i]!)!;
      if (n < 2) continue;
      for (let j = 0; j < b; j++) {
        if (j !== i && y[j] === y[i]) weights[i * b + j] = 1 / (n * (n - 1) * classes);
      }
    }
  }
  return tf.tidy(() => {
    const unit = normalize(geo);
    const cos = tf.matMul(unit, unit, false, true);
    return tf.sum(tf.mul(tf.relu(tf.sub(cos, margin)), tf.tensor2d(weights, [b, b]))) as tf.Scalar;
  });
}
