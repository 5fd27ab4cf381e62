import { InvalidArgumentError } from '../errors.js';
import { assertNumber } from '../checks/assert-shape.js';
import { assertSymmetric, eigh } from './eigh.js';
import { Matrix, matmulTransposeB, toMatrix, type MatrixLike } from './matrix.js';
import { svd } from './svd.js';

/** Options of {@link inverseSqrt}. */
export interface InverseSqrtOptions {
  /** Eigenvalues below `floor` are raised to it before the power is taken. Must be > 0. Default 1e-10. */
  floor?: number;
}

/** Options of {@link sqrtm}. */
export interface SqrtmOptions {
  /**
   * Eigenvalues below `floor` are raised to it (so slightly negative ones from rounding become 0). Must be ≥ 0.
   * Default 0.
   */
  floor?: number;
}

/**
 * U·diag(g(λ))·Uᵀ for the symmetric `m`, computed as (U·diag(g))·Uᵀ with contiguous dot products
 * and symmetrized exactly at the end.
 */
function spectralFunction(op: string, m: Matrix, g: (lambda: number) => number): Matrix {
  assertSymmetric(op, 'a', m); // so errors name the caller, not eigh
  const { values, vectors } = eigh(m);
  const n = values.length;
  const weights = new Float64Array(n);
  for (let j = 0; j < n; j++) weights[j] = g(values[j]!);
  const scaled = new Matrix(n, n);
  const w = scaled.data;
  const u = vectors.data;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) w[row + j] = u[row + j]! * weights[j]!;
  }
  const out = matmulTransposeB(scaled, vectors, op);
  const o = out.data;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const avg = 0.5 * (o[i * n + j]! + o[j * n + i]!);
      o[i * n + j] = avg;
      o[j * n + i] = avg;
    }
  }
  return out;
}

/**
 * Inverse square root of a symmetric positive semi-definite matrix (ZCA whitening matrix):
 * A^(−1/2) = U·diag(max(λ_i, floor)^(−1/2))·Uᵀ, where A = U·diag(λ)·Uᵀ is from {@link eigh}.
 *
 * @param a - `[N, N]` symmetric PSD matrix, typically a covariance.
 * @param options - `floor` (default 1e-10, must be > 0): eigenvalues are clamped to at least this.
 * @returns `[N, N]` symmetric W with W·A·W ≈ I on the span of eigenvalues ≥ floor.
 *
 * @throws {ShapeError} If `a` is not square.
 * @throws {InvalidArgumentError} If `a` is not symmetric, or `floor` is not a finite number > 0.
 * @throws {NonFiniteError} If `a` contains NaN or ±Infinity.
 * @throws {ConvergenceError} From {@link eigh} (not observed in practice).
 *
 * @remarks
 * - Negative eigenvalues (A not PSD, or rounding) are clamped to `floor` too, without an error;
 *   directions with λ < floor get the weight floor^(−1/2) (1e5 at the default), as in the fp64 ZCA
 *   whitening of the Python reference (spec §3.3).
 * - Absolute eigenvalue error ≈ ε·‖A‖, so relative accuracy degrades for λ near ε·‖A‖.
 * - Float64 on the CPU; one {@link eigh} (≈ 7N³) plus one N³ product.
 *
 * @example
 * inverseSqrt([[4, 0], [0, 9]]).toArray(); // [[0.5, 0], [0, 0.3333…]]
 *
 * @see {@link sqrtm}; the fp64 ZCA whitening of bytelex `frame.py` (spec §3.3) that this reproduces.
 */
export function inverseSqrt(a: MatrixLike, options: InverseSqrtOptions = {}): Matrix {
  const floor = options.floor ?? 1e-10;
  if (typeof floor !== 'number' || !Number.isFinite(floor) || !(floor > 0)) {
    throw new InvalidArgumentError('inverseSqrt', 'floor', `must be a finite number > 0, got ${String(floor)}`);
  }
  const m = toMatrix('inverseSqrt', 'a', a);
  return spectralFunction('inverseSqrt', m, (lambda) => 1 / Math.sqrt(Math.max(lambda, floor)));
}

/**
 * Principal square root of a symmetric positive semi-definite matrix:
 * A^(1/2) = U·diag(max(λ_i, floor)^(1/2))·Uᵀ, where A = U·diag(λ)·Uᵀ is from {@link eigh}.
 *
 * @param a - `[N, N]` symmetric PSD matrix.
 * @param options - `floor` (default 0, must be ≥ 0): eigenvalues are clamped to at least this.
 * @returns `[N, N]` symmetric PSD S with S·S ≈ A (when A is PSD).
 *
 * @throws {ShapeError} If `a` is not square.
 * @throws {InvalidArgumentError} If `a` is not symmetric, or `floor` is not a finite number ≥ 0.
 * @throws {NonFiniteError} If `a` contains NaN or ±Infinity.
 * @throws {ConvergenceError} From {@link eigh} (not observed in practice).
 *
 * @remarks
 * - Negative eigenvalues are clamped to `floor` (0 by default), so for a non-PSD A the result is
 *   the square root of its PSD part, not an error.
 * - Float64 on the CPU; one {@link eigh} plus one N³ product.
 *
 * @example
 * sqrtm([[4, 0], [0, 9]]).toArray(); // [[2, 0], [0, 3]]
 *
 * @see {@link inverseSqrt}
 */
export function sqrtm(a: MatrixLike, options: SqrtmOptions = {}): Matrix {
  const floor = options.floor ?? 0;
  assertNumber('sqrtm', 'floor', floor, 0);
  const m = toMatrix('sqrtm', 'a', a);
  return spectralFunction('sqrtm', m, (lambda) => Math.sqrt(Math.max(lambda, floor)));
}

/**
 * Orthogonal polar factor of A: Q = U·Vᵀ from the thin SVD A = U·diag(s)·Vᵀ — the orthogonal
 * (orthonormal-column) matrix nearest to A in Frobenius norm. With A = Xᵀ·Y it is the orthogonal
 * Procrustes rotation argmin_R ‖X·R − Y‖_F.
 *
 * @param a - `[M, N]` real matrix.
 * @returns `[M, N]` Q = U·Vᵀ; QᵀQ = I_N when M ≥ N, Q·Qᵀ = I_M when M < N.
 *
 * @throws {ShapeError} If `a` is not rank 2 (tensor) or its rows are ragged (nested arrays).
 * @throws {NonFiniteError} If `a` contains NaN or ±Infinity.
 * @throws {ConvergenceError} From {@link svd} (not observed in practice).
 *
 * @remarks
 * - No reflection fix: det(Q) may be −1 (as in the Python reference, spec §3.1).
 * - Unique only when A has full rank K = min(M, N); for rank-deficient A the factor depends on the
 *   arbitrary singular vectors of the zero singular values, but is still orthogonal.
 * - Float64 on the CPU; one {@link svd} plus an M·N·K product.
 *
 * @example
 * polarFactor([[2, 0], [0, -3]]).toArray(); // [[1, 0], [0, -1]]
 *
 * @see {@link svd}; geolip-core `linalg/procrustes.py` (R = U·Vᵀ of Xᵀ·Y, spec §3.1).
 */
export function polarFactor(a: MatrixLike): Matrix {
  const m = toMatrix('polarFactor', 'a', a);
  const { u, v } = svd(m);
  return matmulTransposeB(u, v, 'polarFactor');
}
