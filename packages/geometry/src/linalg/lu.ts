import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertFiniteData } from '../checks/assert-shape.js';
import { Matrix, toMatrix, type MatrixLike } from './matrix.js';

const EPS = 2.220446049250313e-16;

/** LU factorization with partial pivoting, see {@link lu}. */
export interface LuResult {
  /**
   * `[N, N]` L and U packed together: U on and above the diagonal, the multipliers of the unit
   * lower-triangular L strictly below it.
   */
  lu: Matrix;
  /** `[N]` row permutation: row i of P·A is row `pivots[i]` of A. */
  pivots: Int32Array;
  /** det(P) = (−1)^(number of row swaps), so det(A) = sign·Π u_ii. */
  sign: 1 | -1;
}

function assertSquare(op: string, m: Matrix): void {
  if (m.rows !== m.cols) throw new ShapeError(op, 'a', '[N, N] (square)', m.shape);
}

/** LU of a copy of m. */
function factor(m: Matrix): LuResult {
  const n = m.rows;
  const a = m.data.slice();
  const { pivots, sign } = factorInPlace(a, n);
  return { lu: new Matrix(n, n, a), pivots, sign };
}

/**
 * Doolittle elimination with partial pivoting, in place on a row-major `[n, n]` array: on return `a`
 * holds L (unit diagonal, strictly below) and U (on and above). Allocation-free apart from `pivots`,
 * so hot loops over many small matrices (Cayley–Menger determinants) can call it directly.
 * @internal
 */
function factorInPlace(a: Float64Array, n: number): { pivots: Int32Array; sign: 1 | -1 } {
  const pivots = new Int32Array(n);
  for (let i = 0; i < n; i++) pivots[i] = i;
  let sign: 1 | -1 = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = Math.abs(a[k * n + k]!);
    for (let i = k + 1; i < n; i++) {
      const x = Math.abs(a[i * n + k]!);
      if (x > best) {
        best = x;
        p = i;
      }
    }
    if (p !== k) {
      const rk = k * n;
      const rp = p * n;
      for (let j = 0; j < n; j++) {
        const t = a[rk + j]!;
        a[rk + j] = a[rp + j]!;
        a[rp + j] = t;
      }
      const t = pivots[k]!;
      pivots[k] = pivots[p]!;
      pivots[p] = t;
      sign = sign === 1 ? -1 : 1;
    }
    const pivot = a[k * n + k]!;
    if (pivot === 0) continue;
    const rk = k * n;
    for (let i = k + 1; i < n; i++) {
      const ri = i * n;
      const l = a[ri + k]! / pivot;
      a[ri + k] = l;
      if (l === 0) continue;
      for (let j = k + 1; j < n; j++) a[ri + j]! -= l * a[rk + j]!;
    }
  }
  return { pivots, sign };
}

/** det = sign · Π u_ii of an array factored by {@link factorInPlace}. @internal */
export function determinantInPlace(a: Float64Array, n: number): number {
  let det = factorInPlace(a, n).sign as number;
  for (let i = 0; i < n; i++) det *= a[i * n + i]!;
  return det;
}

/**
 * LU factorization with partial (row) pivoting: P·A = L·U.
 *
 * Gaussian elimination; at step k the row with the largest |a_ik| (i ≥ k) is swapped up, so every
 * multiplier |l_ik| ≤ 1.
 *
 * @param a - `[N, N]` square real matrix.
 * @returns `lu`: `[N, N]` packed L (unit diagonal, strictly below) and U (on and above the
 *   diagonal); `pivots`: `[N]` with row i of P·A = row `pivots[i]` of A; `sign`: det(P).
 *
 * @throws {ShapeError} If `a` is not square.
 * @throws {NonFiniteError} If `a` contains NaN or ±Infinity.
 *
 * @remarks
 * - Never throws for singular A: a zero pivot column is skipped and U gets a zero diagonal entry.
 *   {@link solve} and {@link inverse} detect that.
 * - Backward stable in practice (growth factor ≤ 2^(N−1) in theory, small in practice).
 * - Float64 on the CPU; O(2N³/3), row-major with contiguous inner loops.
 *
 * @example
 * const { lu: packed, pivots, sign } = lu([[1, 2], [3, 4]]);
 * pivots;           // Int32Array [1, 0]
 * sign;             // -1
 * packed.toArray(); // [[3, 4], [0.3333…, 0.6666…]]
 */
export function lu(a: MatrixLike): LuResult {
  const m = toMatrix('lu', 'a', a);
  assertSquare('lu', m);
  return factor(m);
}

/**
 * Determinant via LU: det(A) = det(P)·Π u_ii.
 *
 * @param a - `[N, N]` square real matrix.
 * @returns det(A); exactly 1 for a 0×0 matrix.
 *
 * @throws {ShapeError} If `a` is not square.
 * @throws {NonFiniteError} If `a` contains NaN or ±Infinity.
 *
 * @remarks
 * - Relative error ≈ N·ε·κ(A) in the worst case; an exactly singular A can give a tiny non-zero
 *   value from rounding (as numpy does). The product can overflow/underflow for large N.
 * - Float64 on the CPU; O(2N³/3).
 *
 * @example
 * det([[1, 2], [3, 4]]); // -2
 */
export function det(a: MatrixLike): number {
  const m = toMatrix('det', 'a', a);
  assertSquare('det', m);
  const product = determinantInPlace(m.data.slice(), m.rows);
  return product === 0 ? 0 : product; // never −0
}

/** Throws unless every pivot exceeds N·ε·max|a_ij| (numerically singular otherwise). */
function assertNonsingular(op: string, source: Matrix, f: LuResult): void {
  const n = source.rows;
  let scale = 0;
  for (let i = 0; i < source.data.length; i++) scale = Math.max(scale, Math.abs(source.data[i]!));
  const tol = Math.max(n, 1) * EPS * scale;
  for (let i = 0; i < n; i++) {
    const u = Math.abs(f.lu.data[i * n + i]!);
    if (!(u > tol)) {
      throw new InvalidArgumentError(
        op,
        'a',
        `is singular to working precision (pivot ${i} is ${u.toExponential(3)}, ` +
          `threshold N·ε·max|a_ij| = ${tol.toExponential(3)})`,
      );
    }
  }
}

/** Solves L·U·X = P·B in place on the row-major [n, k] `x` (already permuted). */
function substitute(f: Float64Array, n: number, x: Float64Array, k: number): void {
  for (let i = 1; i < n; i++) {
    const ri = i * k;
    for (let j = 0; j < i; j++) {
      const l = f[i * n + j]!;
      if (l === 0) continue;
      const rj = j * k;
      for (let c = 0; c < k; c++) x[ri + c]! -= l * x[rj + c]!;
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * k;
    for (let j = i + 1; j < n; j++) {
      const u = f[i * n + j]!;
      if (u === 0) continue;
      const rj = j * k;
      for (let c = 0; c < k; c++) x[ri + c]! -= u * x[rj + c]!;
    }
    const pivot = f[i * n + i]!; // divide (not multiply by 1/pivot, which overflows for subnormal pivots)
    for (let c = 0; c < k; c++) x[ri + c]! /= pivot;
  }
}

/**
 * Solves A·X = B by LU with partial pivoting: X = U⁻¹·L⁻¹·P·B.
 *
 * @param a - `[N, N]` square, non-singular real matrix.
 * @param b - `[N, K]` right-hand sides as columns (any {@link MatrixLike}), or an `[N]` Float64Array.
 * @returns `[N, K]` Matrix X, or an `[N]` Float64Array x when `b` is a Float64Array.
 *
 * @throws {ShapeError} If `a` is not square, or `b` does not have N rows (N entries).
 * @throws {InvalidArgumentError} If `a` is singular to working precision (some |u_ii| ≤ N·ε·max|a_ij|).
 * @throws {NonFiniteError} If `a` or `b` contains NaN or ±Infinity.
 *
 * @remarks
 * - Backward stable; the forward error is ≈ ε·κ(A). Unlike numpy (which only rejects exact zero
 *   pivots), pivots below N·ε·max|a_ij| are rejected, so [[1,2,3],[4,5,6],[7,8,9]] throws.
 * - Float64 on the CPU; O(2N³/3 + 2N²K).
 *
 * @example
 * solve([[2, 0], [0, 4]], new Float64Array([2, 2])); // Float64Array [1, 0.5]
 * solve([[2, 0], [0, 4]], [[2], [2]]).toArray();      // [[1], [0.5]]
 */
export function solve(a: MatrixLike, b: Float64Array): Float64Array;
export function solve(a: MatrixLike, b: MatrixLike): Matrix;
export function solve(a: MatrixLike, b: MatrixLike | Float64Array): Matrix | Float64Array;
export function solve(a: MatrixLike, b: MatrixLike | Float64Array): Matrix | Float64Array {
  const m = toMatrix('solve', 'a', a);
  assertSquare('solve', m);
  const n = m.rows;
  const vector = b instanceof Float64Array;
  let rhs: Matrix;
  if (vector) {
    assertFiniteData('solve', 'b', b);
    if (b.length !== n) throw new ShapeError('solve', 'b', `[N=${n}] or [N=${n}, K]`, [b.length]);
    rhs = new Matrix(n, 1, b);
  } else {
    rhs = toMatrix('solve', 'b', b);
    if (rhs.rows !== n) throw new ShapeError('solve', 'b', `[N=${n}, K]`, rhs.shape);
  }
  const f = factor(m);
  assertNonsingular('solve', m, f);
  const k = rhs.cols;
  const x = new Float64Array(n * k);
  for (let i = 0; i < n; i++) x.set(rhs.data.subarray(f.pivots[i]! * k, f.pivots[i]! * k + k), i * k);
  substitute(f.lu.data, n, x, k);
  return vector ? x : new Matrix(n, k, x);
}

/**
 * Matrix inverse by LU: A⁻¹ = solve(A, I).
 *
 * @param a - `[N, N]` square, non-singular real matrix.
 * @returns `[N, N]` A⁻¹.
 *
 * @throws {ShapeError} If `a` is not square.
 * @throws {InvalidArgumentError} If `a` is singular to working precision (see {@link solve}).
 * @throws {NonFiniteError} If `a` contains NaN or ±Infinity.
 *
 * @remarks
 * - Prefer {@link solve} when the inverse is only multiplied by something: it is cheaper and more
 *   accurate. Error ≈ ε·κ(A) relative.
 * - Float64 on the CPU; O(2N³/3 + 2N³).
 *
 * @example
 * inverse([[4, 7], [2, 6]]).toArray(); // ≈ [[0.6, -0.7], [-0.2, 0.4]]
 */
export function inverse(a: MatrixLike): Matrix {
  const m = toMatrix('inverse', 'a', a);
  assertSquare('inverse', m);
  const n = m.rows;
  const f = factor(m);
  assertNonsingular('inverse', m, f);
  const x = new Float64Array(n * n);
  for (let i = 0; i < n; i++) x[i * n + f.pivots[i]!] = 1;
  substitute(f.lu.data, n, x, n);
  return new Matrix(n, n, x);
}
