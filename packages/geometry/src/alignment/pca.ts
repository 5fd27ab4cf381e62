import { ShapeError } from '../errors.js';
import { assertInteger, bindShapes } from '../checks/assert-shape.js';
import { eigh } from '../linalg/index.js';
import { Matrix, matmul, matmulTransposeA, toMatrix, type MatrixLike } from '../linalg/matrix.js';
import { RunningMoments } from '../stats/streaming.js';
import { readBoolean } from './procrustes.js';

/** Options of {@link pca}. */
export interface PcaOptions {
  /** Subtract the column mean before fitting and projecting. Default `true` (spec §3.5). */
  center?: boolean;
}

/** Result of {@link pca}. */
export interface PcaResult {
  /** `[D, k]` principal axes V_k as orthonormal COLUMNS, by decreasing variance. */
  components: Matrix;
  /** `[D]` μ, the column mean removed (zeros with `center: false`). */
  mean: Float64Array;
  /** `[k]` variance along each axis: λ_j = σ_j² / (N − 1) (as scikit-learn's `explained_variance_`). */
  explainedVariance: Float64Array;
  /** `[k]` λ_j / Σ_{all D} λ, the share of the total variance. */
  explainedVarianceRatio: Float64Array;
  /** `[N, k]` the fit rows projected: (X − μ)·V_k. */
  projected: Matrix;
  /**
   * Projects new rows: (Y − μ)·V_k.
   * @param y - `[M, D]` rows.
   * @returns `[M, k]` coordinates.
   * @throws {ShapeError} If `y` is not `[M, D]`.
   */
  transform(y: MatrixLike): Matrix;
}

/**
 * Principal component analysis to k dimensions (spec §3.5: "768 → 128" after GPA).
 *
 *     μ = mean_rows(X),   C = (X − μ)ᵀ(X − μ) / (N − 1) = V·Λ·Vᵀ
 *     (float64 {@link eigh}, λ descending)
 *     components = V[:, :k],   projected = (X − μ)·V_k
 *
 * The top eigenvectors of C are the top right singular vectors of X − μ (spec: "top-128 right
 * singular vectors"), and λ = σ²/(N − 1).
 *
 * Sign convention (deterministic, documented): each component is flipped so that its entry of
 * largest absolute value is positive (the first such entry on a tie). numpy/scikit-learn use a
 * different rule (`svd_flip`), so compare up to sign or apply the same rule.
 *
 * @param x - `[N, D]` rows (N ≥ 2 for a meaningful variance; N = 1 divides by 1).
 * @param k - number of components, 1 ≤ k ≤ D.
 * @param options - `center` (default true). Without centering C is the second-moment matrix XᵀX/(N − 1).
 * @returns Components, mean, explained variance (and ratio), projected rows and a `transform` closure.
 *
 * @throws {ShapeError} If `x` is not rank 2 or has no rows.
 * @throws {InvalidArgumentError} If `k` is not an integer in [1, D], or `center` is not a boolean.
 * @throws {NonFiniteError} If `x` holds NaN or ±Infinity.
 *
 * @remarks
 * - Via the D×D covariance: O(N·D²/2 + ≈7·D³), about 2.5 s for N = 2000, D = 768 in Node. Eigenvalues
 *   are accurate to ≈ ε·λ_max (absolute), so components whose variance is below ≈ 1e-13·λ_max (or
 *   beyond rank N − 1) are arbitrary orthonormal directions.
 * - Axes of (near-)equal variance are unique only as a subspace.
 * - float64 on the CPU; a tensor argument is read with `dataSync`.
 *
 * @example
 * const { components, explainedVarianceRatio } = pca([[2, 0], [-2, 0], [0, 1], [0, -1]], 1);
 * components.toArray();   // [[1], [0]]
 * explainedVarianceRatio; // Float64Array [0.8]
 *
 * @see {@link gpa} (PCA is fitted on the GPA-aligned features), {@link effectiveDimension}.
 */
export function pca(x: MatrixLike, k: number, options: PcaOptions = {}): PcaResult {
  const op = 'pca';
  const center = readBoolean(op, 'options.center', options.center, true);
  const m = toMatrix(op, 'x', x);
  const [n, d] = bindShapes(op).check('x', m, ['N', 'D']) as [number, number];
  if (n < 1 || d < 1) throw new ShapeError(op, 'x', '[N, D] with N ≥ 1 and D ≥ 1', m.shape);
  assertInteger(op, 'k', k, 1, d);

  let mean: Float64Array;
  let cov: Matrix;
  if (center) {
    const moments = new RunningMoments(d).update(m);
    mean = moments.mean();
    cov = moments.comoment();
  } else {
    mean = new Float64Array(d);
    cov = secondMoment(m);
  }
  const divisor = Math.max(n - 1, 1);
  for (let i = 0; i < cov.data.length; i++) cov.data[i] = cov.data[i]! / divisor;

  const { values, vectors } = eigh(cov);
  let total = 0;
  for (let i = 0; i < d; i++) total += Math.max(values[i]!, 0);
  const components = new Matrix(d, k);
  const explainedVariance = new Float64Array(k);
  const explainedVarianceRatio = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    // Sign: the largest-|entry| of each column positive.
    let arg = 0;
    for (let i = 1; i < d; i++) if (Math.abs(vectors.data[i * d + j]!) > Math.abs(vectors.data[arg * d + j]!)) arg = i;
    const sign = vectors.data[arg * d + j]! < 0 ? -1 : 1;
    for (let i = 0; i < d; i++) components.data[i * k + j] = sign * vectors.data[i * d + j]!;
    explainedVariance[j] = Math.max(values[j]!, 0);
    explainedVarianceRatio[j] = total > 0 ? explainedVariance[j]! / total : 0;
  }

  const project = (rows: Matrix): Matrix => {
    const centered = new Matrix(rows.rows, d);
    for (let r = 0; r < rows.rows; r++)
      for (let j = 0; j < d; j++) centered.data[r * d + j] = rows.data[r * d + j]! - mean[j]!;
    return matmul(centered, components, op);
  };
  return {
    components,
    mean,
    explainedVariance,
    explainedVarianceRatio,
    projected: project(m),
    transform(y: MatrixLike): Matrix {
      const rows = toMatrix('PcaResult.transform', 'y', y);
      bindShapes('PcaResult.transform').check('y', rows, ['M', d]);
      return project(rows);
    },
  };
}

/** XᵀX (one blocked product), upper triangle mirrored so it is exactly symmetric. */
function secondMoment(x: Matrix): Matrix {
  const out = matmulTransposeA(x, x, 'pca');
  const d = out.rows;
  const o = out.data;
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) o[i * d + j] = o[j * d + i]!;
  return out;
}
