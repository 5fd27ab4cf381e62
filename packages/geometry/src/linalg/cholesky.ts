import { InvalidArgumentError } from '../errors.js';
import { assertSymmetric } from './eigh.js';
import { Matrix, toMatrix, type MatrixLike } from './matrix.js';

/**
 * Cholesky factorization of a symmetric positive-definite matrix: A = L·Lᵀ.
 *
 * Row-oriented Cholesky–Banachiewicz: l_jj = √(a_jj − Σ_{k<j} l_jk²) and
 * l_ij = (a_ij − Σ_{k<j} l_ik·l_jk) / l_jj for i > j; each sum is a dot product of two contiguous
 * row prefixes of L.
 *
 * @param a - `[N, N]` symmetric positive-definite real matrix (symmetric to 1e-10·max|a_ij|; the
 *   lower triangle is used).
 * @returns `[N, N]` lower-triangular L with a positive diagonal (zeros above the diagonal).
 *
 * @throws {ShapeError} If `a` is not square.
 * @throws {InvalidArgumentError} If `a` is not symmetric, or not positive definite (a pivot
 *   a_jj − Σ l_jk² is ≤ 0; the message names its index).
 * @throws {NonFiniteError} If `a` contains NaN or ±Infinity.
 *
 * @remarks
 * - Backward stable without pivoting. A positive semi-definite but singular A usually throws (its
 *   last pivot rounds to ≈ 0 of either sign); add a small ridge ε·I first if that is expected.
 * - Float64 on the CPU; O(N³/3).
 *
 * @example
 * cholesky([[4, 2], [2, 3]]).toArray(); // [[2, 0], [1, 1.4142135623730951]]
 */
export function cholesky(a: MatrixLike): Matrix {
  const m = toMatrix('cholesky', 'a', a);
  assertSymmetric('cholesky', 'a', m);
  const n = m.rows;
  const src = m.data;
  const out = new Matrix(n, n);
  const l = out.data;
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let sum = src[ri + j]!;
      for (let k = 0; k < j; k++) sum -= l[ri + k]! * l[rj + k]!;
      if (i === j) {
        if (!(sum > 0)) {
          throw new InvalidArgumentError(
            'cholesky',
            'a',
            `is not positive definite (pivot ${i} is ${sum.toExponential(3)})`,
          );
        }
        l[ri + i] = Math.sqrt(sum);
      } else {
        l[ri + j] = sum / l[rj + j]!;
      }
    }
  }
  return out;
}
