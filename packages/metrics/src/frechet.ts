// Fréchet distance between Gaussians fitted to two feature sets: the FID formula (Heusel et al. 2017), in float64
// through the symmetric form of the matrix square root (one eigendecomposition of a symmetric PSD matrix each).
import { InvalidArgumentError, Matrix, ShapeError, linalg } from '@geolip/geometry';
import { checkFinite } from './check.js';
import type { NumericArray } from './check.js';

/** Mean and covariance of a feature set (see {@link featureStatistics}). */
export interface GaussianStatistics {
  /** D, the feature width. */
  dim: number;
  /** N, the number of rows the statistics come from (0 when given directly). */
  count: number;
  /** `[D]` μ. */
  mean: Float64Array;
  /** `[D·D]` Σ, row-major, symmetric. */
  covariance: Float64Array;
}

function checkDim(op: string, dim: number): void {
  if (!Number.isInteger(dim) || dim < 1)
    throw new InvalidArgumentError(op, 'dim', `must be a positive integer, got ${String(dim)}`);
}

/**
 * Mean and unbiased covariance of N feature rows (`np.mean(x, 0)`, `np.cov(x, rowvar=False)`), in float64:
 *
 *     μ = (1/N) Σ_n x_n,   Σ = (1/(N − 1)) Σ_n (x_n − μ)(x_n − μ)ᵀ
 *
 * @param features - `[N·D]` rows, row-major, N ≥ 2.
 * @param dim - D.
 * @throws {InvalidArgumentError} If `dim` is not a positive integer, `features` is not N·D long with N ≥ 2.
 * @throws {NonFiniteError} On NaN or ±Infinity in `features`.
 * @remarks O(N·D²).
 */
export function featureStatistics(features: NumericArray, dim: number): GaussianStatistics {
  return statistics('featureStatistics', 'features', features, dim);
}

function statistics(op: string, argument: string, features: NumericArray, dim: number): GaussianStatistics {
  checkDim(op, dim);
  if (features === null || typeof features !== 'object' || typeof features.length !== 'number')
    throw new InvalidArgumentError(op, argument, 'must be an array of numbers');
  if (features.length % dim !== 0 || features.length < 2 * dim) {
    throw new InvalidArgumentError(
      op,
      argument,
      `must hold N ≥ 2 rows of dim = ${dim} (length N·${dim}), got length ${features.length}`,
    );
  }
  checkFinite(op, argument, features);
  const n = features.length / dim;
  const mean = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let j = 0; j < dim; j++) mean[j]! += features[r * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= n;
  const covariance = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) centred[j] = features[r * dim + j]! - mean[j]!;
    for (let i = 0; i < dim; i++) {
      const ci = centred[i]!;
      for (let j = i; j < dim; j++) covariance[i * dim + j]! += ci * centred[j]!;
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const v = covariance[i * dim + j]! / (n - 1);
      covariance[i * dim + j] = v;
      covariance[j * dim + i] = v;
    }
  }
  return { dim, count: n, mean, covariance };
}

/**
 * The Fréchet distance between the Gaussians N(μ₁, Σ₁) and N(μ₂, Σ₂) (the FID formula):
 *
 *     d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2·tr (Σ₁^½ Σ₂ Σ₁^½)^½
 *
 * The last trace equals pytorch-fid's tr sqrtm(Σ₁Σ₂) (the two matrices are similar); the symmetric form needs only
 * eigendecompositions of symmetric matrices: Σ₁^½ = V·diag(√max(λ, 0))·Vᵀ, then the eigenvalues μ_k of
 * M = Σ₁^½ Σ₂ Σ₁^½ (symmetrized), tr M^½ = Σ_k √max(μ_k, 0). Float64 throughout.
 *
 * @param a - `{ mean: [D], covariance: [D·D] }` (e.g. from {@link featureStatistics}).
 * @param b - the same for the second set.
 * @returns d², the value FID reports (not its square root). It is not clamped: for two identical sets round-off
 *   may leave a value of order 1e-12 of either sign.
 * @throws {InvalidArgumentError} If a mean / covariance is missing, or the widths differ or do not match.
 * @throws {NonFiniteError} On NaN or ±Infinity.
 * @throws {InvalidArgumentError} From `linalg.eigh`, if a covariance is not symmetric (1e-10 relative).
 * @remarks O(D³): two eigendecompositions and two D³ products.
 * @example
 * ```ts
 * // Σ₁ = I, Σ₂ = 4I in 2-D, means 3 apart: 9 + 2 + 8 − 2·tr(2I) = 11
 * frechetDistance({ mean: [0, 0], covariance: [1, 0, 0, 1] }, { mean: [3, 0], covariance: [4, 0, 0, 4] }); // 11
 * ```
 */
export function frechetDistance(
  a: { mean: NumericArray; covariance: NumericArray },
  b: { mean: NumericArray; covariance: NumericArray },
): number {
  return frechetUnchecked('frechetDistance', a, b);
}

function frechetUnchecked(
  op: string,
  a: { mean: NumericArray; covariance: NumericArray },
  b: { mean: NumericArray; covariance: NumericArray },
): number {
  for (const [name, s] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (s === null || typeof s !== 'object' || !s.mean || !s.covariance)
      throw new InvalidArgumentError(op, name, 'must be { mean, covariance }');
  }
  const d = a.mean.length;
  if (d < 1) throw new InvalidArgumentError(op, 'a.mean', 'must not be empty');
  if (b.mean.length !== d) throw new ShapeError(op, 'b.mean', `[D=${d}]`, [b.mean.length]);
  if (a.covariance.length !== d * d) throw new ShapeError(op, 'a.covariance', `[D·D=${d * d}]`, [a.covariance.length]);
  if (b.covariance.length !== d * d) throw new ShapeError(op, 'b.covariance', `[D·D=${d * d}]`, [b.covariance.length]);
  checkFinite(op, 'a.mean', a.mean);
  checkFinite(op, 'b.mean', b.mean);
  checkFinite(op, 'a.covariance', a.covariance);
  checkFinite(op, 'b.covariance', b.covariance);
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
  let traces = 0;
  for (let i = 0; i < d; i++) traces += a.covariance[i * d + i]! + b.covariance[i * d + i]!;
  const s1 = new Matrix(d, d, Float64Array.from(a.covariance));
  const s2 = new Matrix(d, d, Float64Array.from(b.covariance));
  const root = linalg.sqrtm(s1); // V·diag(√max(λ, 0))·Vᵀ, symmetric
  const m = linalg.matmul(linalg.matmul(root, s2), root);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const v = 0.5 * (m.data[i * d + j]! + m.data[j * d + i]!);
      m.data[i * d + j] = v;
      m.data[j * d + i] = v;
    }
  }
  let traceRoot = 0;
  for (const mu of linalg.eigh(m).values) traceRoot += Math.sqrt(Math.max(mu, 0));
  return meanTerm + traces - 2 * traceRoot;
}

/**
 * {@link frechetDistance} between the Gaussians fitted ({@link featureStatistics}) to two feature sets: FID when the
 * features are Inception's pool features; the glfm recipe uses a Fashion-MNIST classifier's embeddings.
 * @param x - `[N₁·D]` rows; `y` - `[N₂·D]` rows; N₁, N₂ ≥ 2.
 * @param dim - D.
 * @throws {InvalidArgumentError} / {NonFiniteError} As {@link featureStatistics}, naming `x` or `y`.
 * @remarks With N < D a covariance is singular (rank ≤ N − 1); the distance is still defined, but noisy: FID is
 *   usually computed on thousands of rows.
 */
export function frechetDistanceFromFeatures(x: NumericArray, y: NumericArray, dim: number): number {
  const op = 'frechetDistanceFromFeatures';
  const a = statistics(op, 'x', x, dim);
  const b = statistics(op, 'y', y, dim);
  return frechetUnchecked(op, a, b);
}
