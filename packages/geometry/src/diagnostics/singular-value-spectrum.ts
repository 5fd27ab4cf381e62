import * as tf from '@tensorflow/tfjs-core';

import { InvalidArgumentError } from '../errors.js';
import { assertInteger, bindShapes } from '../checks/assert-shape.js';
import { svd } from '../linalg/index.js';
import { Matrix, toMatrix, type MatrixLike } from '../linalg/matrix.js';

/** Options of {@link singularValueSpectrum} and the diagnostics built on it. */
export interface SpectrumOptions {
  /** Use only the first `maxRows` rows (as the Python code's `x[:2000]`). Default 2000. */
  maxRows?: number;
  /** Subtract the column mean (of the rows used) first. Default true. */
  center?: boolean;
}

/**
 * Singular values of the (centred, row-capped) feature matrix, in float64 and descending order.
 *
 *     X₀ = X[:maxRows] − mean_rows(X[:maxRows]) = U·diag(σ)·Vᵀ,
 *     σ_1 ≥ σ_2 ≥ … ≥ σ_k ≥ 0,  k = min(rows, D)
 *
 * @param x - `[N, D]` features: a {@link Matrix}, nested arrays or a `tf.Tensor2D` (only the first
 *   `maxRows` rows are read back from a tensor).
 * @param options - `maxRows` (default 2000), `center` (default true).
 * @returns `[k]` singular values σ, descending, k = min(min(N, maxRows), D).
 *
 * @throws {ShapeError} If `x` is not rank 2.
 * @throws {InvalidArgumentError} If `maxRows` is not a positive integer.
 * @throws {NonFiniteError} If the rows used hold NaN or ±Infinity.
 *
 * @remarks
 * - float64 thin SVD ({@link svd}, values only: `{ vectors: false }`) on the CPU;
 *   ≈ 4·rows·D·k − 4k³/3 flops. A tensor is read with `dataSync`, after slicing the first `maxRows`
 *   rows on the backend.
 * - Not computed as √eig(X₀ᵀX₀) (the smaller Gram matrix): that squares the condition number, so a
 *   σ_i far below σ_1 would keep only ≈ ε·(σ_1/σ_i)² relative accuracy; the SVD keeps every σ_i to
 *   ≈ ε·σ_1 absolute.
 *
 * @example
 * singularValueSpectrum([[1, 0], [-1, 0], [0, 2], [0, -2]]); // Float64Array [2.828…, 1.414…]
 *
 * @see {@link effectiveDimension}, {@link explainedBySingularValues}.
 */
export function singularValueSpectrum(x: MatrixLike, options: SpectrumOptions = {}): Float64Array {
  return spectrum('singularValueSpectrum', x, options);
}

/**
 * Fraction of Σσ carried by the top k singular values: Σ_{i<k} σ_i / Σ_i σ_i (spec §2.5, "top-k SVs
 * explain x%": on σ, not σ², as the Python code does).
 *
 * @param x - `[N, D]` features (see {@link singularValueSpectrum}).
 * @param k - how many leading singular values, 1 ≤ k; values beyond min(rows, D) count as all.
 * @param options - `maxRows` (default 2000), `center` (default true).
 * @returns A fraction in [0, 1]; NaN when every σ is 0 (constant data).
 *
 * @throws {ShapeError} If `x` is not rank 2.
 * @throws {InvalidArgumentError} If `k` or `maxRows` is not a positive integer.
 *
 * @remarks Same cost and precision as {@link singularValueSpectrum}.
 *
 * @example
 * explainedBySingularValues([[1, 0], [-1, 0], [0, 2], [0, -2]], 1); // 0.6666… (2√2 / (2√2 + √2))
 */
export function explainedBySingularValues(x: MatrixLike, k: number, options: SpectrumOptions = {}): number {
  const op = 'explainedBySingularValues';
  assertInteger(op, 'k', k, 1);
  const sigma = spectrum(op, x, options);
  let total = 0;
  let top = 0;
  for (let i = 0; i < sigma.length; i++) {
    total += sigma[i]!;
    if (i < k) top += sigma[i]!;
  }
  return total > 0 ? top / total : NaN;
}

/** @internal Shared by the spectrum diagnostics (reports errors under `op`). */
export function spectrum(op: string, x: MatrixLike, options: SpectrumOptions): Float64Array {
  const maxRows = assertInteger(op, 'options.maxRows', options.maxRows ?? 2000, 1);
  const center = options.center ?? true;
  if (typeof center !== 'boolean')
    throw new InvalidArgumentError(op, 'options.center', `must be a boolean, got ${typeof center}`);
  let m: Matrix;
  if (x instanceof tf.Tensor) {
    bindShapes(op).check('x', x, ['N', 'D']);
    const rows = Math.min(x.shape[0], maxRows);
    if (rows < x.shape[0]) {
      const head = tf.slice(x, [0, 0], [rows, x.shape[1]]);
      try {
        m = toMatrix(op, 'x', head);
      } finally {
        head.dispose();
      }
    } else m = toMatrix(op, 'x', x);
  } else {
    const full = toMatrix(op, 'x', x);
    bindShapes(op).check('x', full, ['N', 'D']);
    m = full.rows > maxRows ? new Matrix(maxRows, full.cols, full.data.slice(0, maxRows * full.cols)) : full;
  }
  const { rows, cols } = m;
  if (rows === 0 || cols === 0) return new Float64Array(0);
  let work = m;
  if (center) {
    // Row-major passes (the same sums, in the same order, as column by column).
    const src = m.data;
    const mean = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      for (let j = 0; j < cols; j++) mean[j] = mean[j]! + src[o + j]!;
    }
    for (let j = 0; j < cols; j++) mean[j] = mean[j]! / rows;
    work = new Matrix(rows, cols);
    const w = work.data;
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      for (let j = 0; j < cols; j++) w[o + j] = src[o + j]! - mean[j]!;
    }
  }
  // Values only: U and V are never formed. (Not √eig(X₀ᵀX₀): squaring loses the small σ.)
  return svd(work, { vectors: false }).s;
}
