import { bindShapes } from '../checks/assert-shape.js';
import { Matrix, matmul, toMatrix, type MatrixLike } from '../linalg/matrix.js';
import {
  addRowVector,
  checkPair,
  meanRowCosine,
  normalizeRowsInPlace,
  procrustesCore,
  readBoolean,
} from './procrustes.js';
import { whitenCore, type WhitenResult } from './whiten.js';

/** Options of {@link whitenedProcrustes}. */
export interface WhitenedProcrustesOptions {
  /** Covariance shrinkage ε of both whitenings (see {@link whiten}). Default 1e-3. */
  shrinkage?: number;
  /** Eigenvalue floor of both whitenings (see {@link whiten}). Default 1e-10. */
  floor?: number;
  /** L2-normalize every whitened row before the fit (spec §3.2 step 4). Default `true`. */
  rowNormalize?: boolean;
  /** Allow det R = −1 (see {@link procrustes}). Default `true`. */
  allowReflection?: boolean;
}

/** Result of {@link whitenedProcrustes}. */
export interface WhitenedProcrustesResult {
  /** `[Ds, Dt]` R fitted between the whitened (and row-normalized) source and target. */
  rotation: Matrix;
  /** `[N, Dt]` the source in target coordinates: aligned_w·W_T⁻¹ + μ_T (spec §3.2 step 7). */
  aligned: Matrix;
  /** `[N, Dt]` aligned_w = S_w·R, in the target's whitened space. */
  alignedWhitened: Matrix;
  /** The source whitening (μ_S, W_S, …) fitted on `source`. */
  sourceWhitening: WhitenResult;
  /** The target whitening (μ_T, W_T, W_T⁻¹, …) fitted on `target`. */
  targetWhitening: WhitenResult;
  /** Mean row cosine between aligned_w and T_w over all N rows (spec §3.2 step 8 uses the first 1000). */
  cosineAfter: number;
  /** `[Ds, Dt]` L = W_S·R·W_T⁻¹, the linear part of the composed affine map (spec §3.6 step 4). */
  linear: Matrix;
  /** `[Dt]` b = μ_T − μ_S·L, so that a new row x maps to x·L + b (before any row normalization, see remarks). */
  bias: Float64Array;
  /**
   * Maps new source rows exactly as the fit rows were mapped, row normalization included:
   * ((x − μ_S)·W_S, normalized if `rowNormalize`)·R·W_T⁻¹ + μ_T.
   * @param x - `[M, Ds]` rows in the source space.
   * @returns `[M, Dt]` rows in the target space.
   * @throws {ShapeError} If `x` is not `[M, Ds]`.
   */
  apply(x: MatrixLike): Matrix;
}

/**
 * Whitened orthogonal Procrustes, full rank and float64 (spec §3.2 with the §3.3 ZCA whitening).
 *
 *     S_w = rownorm((S − μ_S)·W_S),   T_w = rownorm((T − μ_T)·W_T)        (W = ZCA, {@link whiten})
 *     R = U·Vᵀ  from  S_wᵀ·T_w = U·diag(s)·Vᵀ                              ({@link procrustes})
 *     aligned_w = S_w·R,   aligned = aligned_w·W_T⁻¹ + μ_T
 *     linear = W_S·R·W_T⁻¹,   bias = μ_T − μ_S·linear
 *
 * This is the "per-expert whitened Procrustes calibration" of the soup pipeline; `linear` and `bias`
 * initialize a `Linear(Ds → Dt)` projector (weight ← linearᵀ, bias ← bias; spec §3.6 step 5).
 *
 * @param source - `[N, Ds]` source rows S.
 * @param target - `[N, Dt]` target rows T, paired row by row; Dt ≤ Ds (a wider source gives a
 *   rectangular R with orthonormal columns).
 * @param options - `shrinkage` (1e-3), `floor` (1e-10), `rowNormalize` (true), `allowReflection` (true).
 * @returns See {@link WhitenedProcrustesResult}.
 *
 * @throws {ShapeError} If `target` does not have N rows or is wider than `source`.
 * @throws {InvalidArgumentError} If an option is out of range or of the wrong type.
 * @throws {NonFiniteError} If `source` or `target` holds NaN or ±Infinity.
 *
 * @remarks
 * - Deterministic: this is the full-rank variant (spec §3.2 step 5), never the random-subspace trick.
 * - `pinv(W_T)` of the Python code is the exact inverse W_T⁻¹ = U·Λ^(1/2)·Uᵀ here (W_T has full rank
 *   after the eigenvalue floor).
 * - Scale, as in the Python code: with `rowNormalize`, aligned_w has unit rows while whitened target
 *   rows have norm ≈ √Dt, so `aligned` is pulled toward μ_T by about 1/√Dt. The affine pair
 *   (`linear`, `bias`) omits the per-row normalization (it cannot be affine): it reproduces
 *   `aligned` exactly only with `rowNormalize: false`, and otherwise up to the per-row factor
 *   1/‖(x − μ_S)·W_S‖ on the linear term. Use `apply` for the exact map.
 * - Cost: two whitenings (two {@link eigh}, ≈ 1.5 s each at D = 768), one SVD of `[Ds, Dt]`, and a few
 *   N·D² products; float64 on the CPU.
 *
 * @example
 * const s = [[1, 2], [3, 1], [0, 0], [2, 5], [4, 4]];
 * const t = s.map(([a, b]) => [2 * b + 1, -a]);    // a linear map of s
 * const r = whitenedProcrustes(s, t, { rowNormalize: false });
 * r.cosineAfter; // ≈ 1
 * r.aligned;     // ≈ t
 *
 * @see {@link whiten}, {@link procrustes}; geolip-core `linalg/procrustes.py::batched_procrustes`.
 */
export function whitenedProcrustes(
  source: MatrixLike,
  target: MatrixLike,
  options: WhitenedProcrustesOptions = {},
): WhitenedProcrustesResult {
  const op = 'whitenedProcrustes';
  const rowNormalize = readBoolean(op, 'options.rowNormalize', options.rowNormalize, true);
  const allowReflection = readBoolean(op, 'options.allowReflection', options.allowReflection, true);
  const s = toMatrix(op, 'source', source);
  const t = toMatrix(op, 'target', target);
  checkPair(op, 'source', s, 'target', t);
  const whitenOptions = { shrinkage: options.shrinkage, floor: options.floor };
  const sourceWhitening = whitenCore(op, 'source', s, whitenOptions);
  const targetWhitening = whitenCore(op, 'target', t, whitenOptions);

  // Copies only to normalize in place (the whitenings are returned).
  const sw = rowNormalize ? normalizeRowsInPlace(sourceWhitening.whitened.clone()) : sourceWhitening.whitened;
  const tw = rowNormalize ? normalizeRowsInPlace(targetWhitening.whitened.clone()) : targetWhitening.whitened;
  const { rotation, aligned: alignedWhitened } = procrustesCore(sw, tw, { allowReflection, center: false });
  const unwhiten = matmul(rotation, targetWhitening.inverseMatrix, op); // R·W_T⁻¹, [Ds, Dt]
  const aligned = matmul(alignedWhitened, targetWhitening.inverseMatrix, op);
  addRowVector(aligned, targetWhitening.mean);

  const linear = matmul(sourceWhitening.matrix, unwhiten, op);
  const dt = t.cols;
  const bias = targetWhitening.mean.slice();
  for (let j = 0; j < dt; j++) {
    let acc = 0;
    for (let i = 0; i < s.cols; i++) acc += sourceWhitening.mean[i]! * linear.data[i * dt + j]!;
    bias[j] = bias[j]! - acc;
  }

  const ds = s.cols;
  return {
    rotation,
    aligned,
    alignedWhitened,
    sourceWhitening,
    targetWhitening,
    cosineAfter: meanRowCosine(alignedWhitened, tw),
    linear,
    bias,
    apply(x: MatrixLike): Matrix {
      const rows = toMatrix('WhitenedProcrustesResult.apply', 'x', x);
      bindShapes('WhitenedProcrustesResult.apply').check('x', rows, ['M', ds]);
      const w = sourceWhitening.apply(rows);
      if (rowNormalize) normalizeRowsInPlace(w);
      const out = matmul(w, unwhiten, 'WhitenedProcrustesResult.apply');
      addRowVector(out, targetWhitening.mean);
      return out;
    },
  };
}
