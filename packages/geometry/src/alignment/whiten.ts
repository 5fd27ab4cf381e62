import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertNumber, bindShapes } from '../checks/assert-shape.js';
import { eigh } from '../linalg/index.js';
import { Matrix, matmul, matmulTransposeB, toMatrix, type MatrixLike } from '../linalg/matrix.js';
import { RunningMoments } from '../stats/streaming.js';
import { addRowVector } from './procrustes.js';

/** Options of {@link whiten}. */
export interface WhitenOptions {
  /** ε in [0, 1]: C ← (1 − ε)·C + ε·(tr C / D)·I before the eigendecomposition. Default 1e-3 (spec §3.3). */
  shrinkage?: number;
  /** Eigenvalues are raised to at least this (> 0) before λ^(−1/2). Default 1e-10 (spec §3.3). */
  floor?: number;
}

/** Result of {@link whiten}: the fitted ZCA transform and the whitened training rows. */
export interface WhitenResult {
  /** `[N, D]` (X − μ)·W. */
  whitened: Matrix;
  /** `[D]` μ, the column mean of the fit rows. */
  mean: Float64Array;
  /** `[D, D]` W = U·Λ^(−1/2)·Uᵀ (symmetric, ZCA). */
  matrix: Matrix;
  /** `[D, D]` W⁻¹ = U·Λ^(1/2)·Uᵀ (exact inverse, W has full rank after the floor); maps whitened rows back. */
  inverseMatrix: Matrix;
  /** `[D]` the shrunk and floored eigenvalues Λ of the covariance, descending. */
  eigenvalues: Float64Array;
  /**
   * Whitens new rows with the fitted μ and W: (Y − μ)·W.
   * @param y - `[M, D]` rows in the original space.
   * @returns `[M, D]` whitened rows.
   * @throws {ShapeError} If `y` is not `[M, D]`.
   */
  apply(y: MatrixLike): Matrix;
  /**
   * Undoes {@link WhitenResult.apply}: Z·W⁻¹ + μ.
   * @param z - `[M, D]` whitened rows.
   * @returns `[M, D]` rows in the original space.
   * @throws {ShapeError} If `z` is not `[M, D]`.
   */
  invert(z: MatrixLike): Matrix;
}

/**
 * ZCA whitening in float64, exactly as spec §3.3 (bytelex `frame.py`):
 *
 *     μ = mean_rows(X),   C = (X − μ)ᵀ(X − μ) / (N − 1)
 *     C ← (1 − ε)·C + ε·(tr C / D)·I                  (shrink toward the mean eigenvalue)
 *     C = U·Λ·Uᵀ,  λ ← max(λ, floor)
 *     W = U·Λ^(−1/2)·Uᵀ,   whitened = (X − μ)·W
 *
 * Covariance normalization: the unbiased N − 1 divisor (as `numpy.cov` and geolip-core's
 * `max(n − 1, 1)`, spec §3.2 step 2); N = 1 divides by 1. The divisor only rescales W by a constant
 * (√((N−1)/N) versus the N version), which row normalization downstream removes anyway.
 *
 * @param x - `[N, D]` fit rows (N ≥ 1). Fit on a held-out split, then {@link WhitenResult.apply} to others.
 * @param options - `shrinkage` ε (default 1e-3), `floor` (default 1e-10).
 * @returns The whitened rows, μ, W, W⁻¹, the eigenvalues and `apply` / `invert` closures.
 *
 * @throws {ShapeError} If `x` is not rank 2 or has no rows.
 * @throws {InvalidArgumentError} If `shrinkage` is not in [0, 1] or `floor` is not a finite number > 0.
 * @throws {NonFiniteError} If `x` holds NaN or ±Infinity.
 *
 * @remarks
 * - The whitened covariance is (I − ε·m·W²)/(1 − ε) with m = tr C/D, i.e. the identity up to the
 *   shrinkage: each eigen-direction has variance (λ − ε·m)/((1 − ε)·λ) ≤ 1 (tested).
 * - Directions with λ < floor (rank-deficient data with ε = 0) are amplified by floor^(−1/2) = 1e5.
 * - float64 on the CPU: the covariance costs N·D²/2, {@link eigh} ≈ 1.5 s at D = 768 in Node, plus
 *   two D³ products for W and W⁻¹ and N·D² for the whitened rows.
 *
 * @example
 * const { whitened, matrix } = whiten([[0, 0], [2, 0], [0, 4], [2, 4]], { shrinkage: 0 });
 * matrix.toArray();   // [[0.866…, 0], [0, 0.433…]]  (1/√(4/3) and 1/√(16/3))
 * whitened.toArray(); // every column has unit sample variance
 *
 * @see {@link whitenedProcrustes}; spec §3.3.
 */
export function whiten(x: MatrixLike, options: WhitenOptions = {}): WhitenResult {
  const op = 'whiten';
  const m = toMatrix(op, 'x', x);
  return whitenCore(op, 'x', m, options);
}

/** @internal {@link whiten} on a validated matrix, reporting errors under `op` / `argument`. */
export function whitenCore(op: string, argument: string, m: Matrix, options: WhitenOptions): WhitenResult {
  const shrinkage = assertNumber(op, 'options.shrinkage', options.shrinkage ?? 1e-3, 0, 1);
  const floor = options.floor ?? 1e-10;
  if (typeof floor !== 'number' || !Number.isFinite(floor) || !(floor > 0)) {
    throw new InvalidArgumentError(op, 'options.floor', `must be a finite number > 0, got ${String(floor)}`);
  }
  const [n, d] = bindShapes(op).check(argument, m, ['N', 'D']) as [number, number];
  if (n < 1 || d < 1) throw new ShapeError(op, argument, '[N, D] with N ≥ 1 and D ≥ 1', m.shape);

  const moments = new RunningMoments(d).update(m);
  const mean = moments.mean();
  const cov = moments.comoment();
  const c = cov.data;
  const divisor = Math.max(n - 1, 1);
  let trace = 0;
  for (let i = 0; i < c.length; i++) c[i] = c[i]! / divisor;
  for (let i = 0; i < d; i++) trace += c[i * d + i]!;
  const target = (shrinkage * trace) / d;
  for (let i = 0; i < c.length; i++) c[i] = c[i]! * (1 - shrinkage);
  for (let i = 0; i < d; i++) c[i * d + i] = c[i * d + i]! + target;

  const { values, vectors } = eigh(cov);
  const eigenvalues = values.map((lambda) => Math.max(lambda, floor));
  const matrix = spectral(vectors, eigenvalues, (lambda) => 1 / Math.sqrt(lambda));
  const inverseMatrix = spectral(vectors, eigenvalues, Math.sqrt);

  const applyWith = (rows: Matrix): Matrix => {
    const centered = new Matrix(rows.rows, d);
    for (let r = 0; r < rows.rows; r++)
      for (let j = 0; j < d; j++) centered.data[r * d + j] = rows.data[r * d + j]! - mean[j]!;
    return matmul(centered, matrix, op);
  };
  return {
    whitened: applyWith(m),
    mean,
    matrix,
    inverseMatrix,
    eigenvalues,
    apply(y: MatrixLike): Matrix {
      const rows = toMatrix('WhitenResult.apply', 'y', y);
      bindShapes('WhitenResult.apply').check('y', rows, ['M', d]);
      return applyWith(rows);
    },
    invert(z: MatrixLike): Matrix {
      const rows = toMatrix('WhitenResult.invert', 'z', z);
      bindShapes('WhitenResult.invert').check('z', rows, ['M', d]);
      const out = matmul(rows, inverseMatrix, 'WhitenResult.invert');
      addRowVector(out, mean);
      return out;
    },
  };
}

/** U·diag(g(λ))·Uᵀ, symmetrized exactly. */
function spectral(vectors: Matrix, values: Float64Array, g: (lambda: number) => number): Matrix {
  const d = values.length;
  const weights = values.map(g);
  const scaled = new Matrix(d, d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) scaled.data[i * d + j] = vectors.data[i * d + j]! * weights[j]!;
  const out = matmulTransposeB(scaled, vectors, 'whiten');
  const o = out.data;
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const avg = 0.5 * (o[i * d + j]! + o[j * d + i]!);
      o[i * d + j] = avg;
      o[j * d + i] = avg;
    }
  }
  return out;
}
