/**
 * GAL, the Geometric Accumulated Loss of the dual-stream card's Run 12 (issue 21, docs/gal.md): a simplex loss over
 * a large pool of rows (a FIFO queue of past batches plus the current batch), that teaches a tower's embedding the
 * simplex geometry of its experts' embeddings, and nothing else.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CM_VALID_THRESHOLD, ShapeError, simplexVolumeSquared } from '@geolip/geometry';

import { stopGradient } from '@geolip/geometry/internal';

import { assertFloatTensor, assertNumber } from './checks.js';

const OP = 'galLoss';

/** Options of {@link galLoss}; the weights of its three terms and the CV target. */
export interface GalOptions {
  /** Weight of the volume-preservation term. Default 1. */
  volume?: number;
  /** Weight of the CV term. Default 1. */
  cv?: number;
  /** Weight of the Cayley–Menger validity term. Default 1. */
  cm?: number;
  /**
   * The CV the tower's volumes are pulled to: a number, or `null` (default) for the experts' own CV over the same
   * simplices (the mean over experts): "preserve simplex information … from the other embeddings".
   */
  cvTarget?: number | null;
  /** The validity term's margin ε in mean ReLU(ε − V²). Default 0. */
  margin?: number;
}

/** What {@link galLoss} returns: `loss` is a new scalar tensor (the caller disposes it); the rest are tensors too. */
export interface GalResult {
  /** `[]` w_vol·volume + w_cv·cv + w_cm·cm (0 when the pool is empty). */
  loss: tf.Scalar;
  /** `[]` the volume-preservation term (unweighted). */
  volume: tf.Scalar;
  /** `[]` the CV term (unweighted). */
  cvTerm: tf.Scalar;
  /** `[]` the validity term (unweighted). */
  cm: tf.Scalar;
  /** `[]` CV of the tower's simplex volumes. */
  cv: tf.Scalar;
  /** `[]` the CV target used (the experts' mean CV with `cvTarget: null`). */
  target: tf.Scalar;
  /** `[]` the fraction of the tower's simplices with V² > 1e-20 (CM validity). */
  validity: tf.Scalar;
  /** Whether the pool had simplices (false: every value is 0 and `loss` has no gradient). */
  active: boolean;
}

/**
 * GAL over a pool of N rows and M sampled simplices of V vertices (row indices `simplices`):
 *
 *     V²_z(m)  = simplexVolumeSquared(z[simplices m])                   the tower's squared volumes
 *     vol_z(m) = √(max(V²_z(m), 0) + 1e-12)
 *     t(m)     = mean_e √max(V²_e(m), 0)                                the experts' volumes (constants)
 *     volume   = mean_m (vol_z(m) − t(m))² / (mean_m t(m))²            scale-free preservation of the simplices
 *     cv_z     = std(vol_z) / (mean(vol_z) + 1e-8)                      (unbiased std, as pentachoronCV)
 *     cvTerm   = (cv_z − target)²,  target = cvTarget ?? mean_e cv_e   (cv_e of √max(V²_e, 0), the same way)
 *     cm       = mean_m ReLU(margin − V²_z(m))
 *     loss     = w_vol·volume + w_cv·cvTerm + w_cm·cm
 *
 * @param tower - `[N, D]` the tower's embeddings of the pool (gradients flow into it).
 * @param experts - `[E]` tensors `[N, D_e]`: the experts' embeddings of the same rows. Always read through
 *   geometry's internal `stopGradient`: GAL never moves an expert.
 * @param simplices - `[M · V]` row indices, simplex m = `simplices[m·V … m·V + V − 1]` (e.g. geometry's
 *   `sampleSimplexIndices(N, M, V, rng)`). Empty (or N < V): the empty pool, see returns.
 * @param vertices - V ≥ 2 (5: pentachora, as the CV). Default 5.
 * @param options - see {@link GalOptions}.
 * @returns {@link GalResult}; with an empty pool, `loss` is a constant 0 (no gradient reaches anything) and
 *   `active` is false.
 *
 * @throws {ShapeError} when an expert has another N than `tower`, or an index is outside [0, N).
 * @throws {InvalidArgumentError} for non-float32 input or bad weights.
 *
 * @remarks
 * - [INFER] The card names GAL ("an accumulated geometric loss based on a large batch of information … to preserve
 *   simplex information, exclusively simplex information from the other embeddings") and gives no formula: the
 *   terms are the project's simplex statistics (CM volumes, CV, CM validity, spec §1–§2) over the pool.
 * - Runs on the backend, differentiable through the Gram determinants; O(M·V²·D) plus the experts' O(E·M·V²·D_e).
 *
 * @example
 * // Tower = expert: every volume matches, the CV equals the experts' CV, and every simplex is valid.
 * const x = tf.eye(6) as tf.Tensor2D;
 * galLoss(x, [x], Int32Array.from([0, 1, 2, 3, 4, 1, 2, 3, 4, 5])).loss.dataSync()[0]; // 0
 */
export function galLoss(
  tower: tf.Tensor2D,
  experts: readonly tf.Tensor2D[],
  simplices: Int32Array,
  vertices = 5,
  options: GalOptions = {},
): GalResult {
  assertFloatTensor(OP, 'tower', tower, 2);
  if (tower.rank !== 2) throw new ShapeError(OP, 'tower', '[N, D]', tower.shape);
  const n = tower.shape[0];
  if (!Array.isArray(experts) || experts.length === 0)
    throw new ShapeError(OP, 'experts', '[E ≥ 1] tensors [N, D_e]', [0]);
  experts.forEach((e, i) => {
    assertFloatTensor(OP, `experts[${i}]`, e, 2);
    if (e.rank !== 2 || e.shape[0] !== n) throw new ShapeError(OP, `experts[${i}]`, `[N=${n}, D_e]`, e.shape);
  });
  const v = Math.trunc(assertNumber(OP, 'vertices', vertices, 2));
  const w = {
    volume: assertNumber(OP, 'options.volume', options.volume ?? 1, 0),
    cv: assertNumber(OP, 'options.cv', options.cv ?? 1, 0),
    cm: assertNumber(OP, 'options.cm', options.cm ?? 1, 0),
  };
  const margin = assertNumber(OP, 'options.margin', options.margin ?? 0, 0);
  const fixedTarget =
    options.cvTarget === undefined || options.cvTarget === null
      ? null
      : assertNumber(OP, 'options.cvTarget', options.cvTarget, 0);
  if (!(simplices instanceof Int32Array) || simplices.length % v !== 0)
    throw new ShapeError(OP, 'simplices', `Int32Array [M·V=${v}]`, [simplices?.length ?? 0]);
  for (let i = 0; i < simplices.length; i++)
    if (simplices[i]! < 0 || simplices[i]! >= n)
      throw new ShapeError(OP, 'simplices', `indices in [0, N=${n})`, [simplices[i]!]);
  const m = simplices.length / v;
  if (m === 0 || n < v) {
    const z = (): tf.Scalar => tf.scalar(0);
    return {
      loss: z(),
      volume: z(),
      cvTerm: z(),
      cm: z(),
      cv: z(),
      target: tf.scalar(fixedTarget ?? 0),
      validity: z(),
      active: false,
    };
  }
  const idx = tf.tensor1d(simplices, 'int32');
  const gatherSimplices = (x: tf.Tensor2D): tf.Tensor3D =>
    tf.reshape(tf.gather(x, idx), [m, v, x.shape[1]]) as tf.Tensor3D;
  const cvOf = (vol: tf.Tensor1D): tf.Scalar =>
    tf.tidy(() => {
      const mean = tf.mean(vol);
      const variance = tf.div(tf.sum(tf.square(tf.sub(vol, mean))), Math.max(m - 1, 1));
      return tf.div(tf.sqrt(variance), tf.add(mean, 1e-8)) as tf.Scalar;
    });
  const out = tf.tidy(() => {
    const v2z = simplexVolumeSquared(gatherSimplices(tower)) as tf.Tensor1D;
    const volZ = tf.sqrt(tf.add(tf.relu(v2z), 1e-12)) as tf.Tensor1D;
    const expertVols = experts.map(
      (e) => tf.sqrt(tf.relu(simplexVolumeSquared(gatherSimplices(stopGradient(e) as tf.Tensor2D)))) as tf.Tensor1D,
    );
    const t = stopGradient(tf.div(tf.addN(expertVols), experts.length)) as tf.Tensor1D;
    const volume = tf.div(tf.mean(tf.square(tf.sub(volZ, t))), tf.add(tf.square(tf.mean(t)), 1e-12)) as tf.Scalar;
    const cv = cvOf(volZ);
    const target = (
      fixedTarget === null
        ? stopGradient(tf.div(tf.addN(expertVols.map((x) => cvOf(x))), experts.length))
        : tf.scalar(fixedTarget)
    ) as tf.Scalar;
    const cvTerm = tf.square(tf.sub(cv, target)) as tf.Scalar;
    const cm = tf.mean(tf.relu(tf.sub(margin, v2z))) as tf.Scalar;
    const validity = stopGradient(tf.mean(tf.cast(tf.greater(v2z, CM_VALID_THRESHOLD), 'float32'))) as tf.Scalar;
    const loss = tf.addN([tf.mul(w.volume, volume), tf.mul(w.cv, cvTerm), tf.mul(w.cm, cm)]) as tf.Scalar;
    return { loss, volume, cvTerm, cm, cv, target, validity };
  });
  idx.dispose();
  return { ...out, active: true };
}
