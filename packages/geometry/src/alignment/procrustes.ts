import { InvalidArgumentError, ShapeError } from '../errors.js';
import { bindShapes } from '../checks/assert-shape.js';
import { det, svd } from '../linalg/index.js';
import { Matrix, matmul, matmulTransposeA, matmulTransposeB, toMatrix, type MatrixLike } from '../linalg/matrix.js';

/** Options of {@link procrustes}. */
export interface ProcrustesOptions {
  /**
   * Allow det R = −1 (an improper rotation). Default `true`, as geolip-core (spec §3.1: no reflection
   * fix). With `false`, the Kabsch correction is applied when the widths are equal: the sign of the
   * singular vector of the smallest singular value is flipped, giving the best proper rotation.
   */
  allowReflection?: boolean;
  /**
   * Subtract each side's column mean before fitting, and add the target mean back to `aligned`
   * (so `aligned = (X − μ_X)·R + μ_Y`). Default `false`: rows are used as given, as in geolip-core.
   */
  center?: boolean;
}

/** Result of {@link procrustes}. */
export interface ProcrustesResult {
  /** `[D, Dy]` R = U·Vᵀ: orthogonal when Dy = D (det ±1), orthonormal columns (RᵀR = I) when Dy < D. */
  rotation: Matrix;
  /** `[N, Dy]` the source mapped onto the target: X·R, or (X − μ_X)·R + μ_Y with `center`. */
  aligned: Matrix;
  /** ‖aligned − Y‖_F, computed directly (not from the singular values). */
  residual: number;
  /** `[Dy]` t = μ_Y − μ_X·R so that `aligned = X·R + t` (all zeros without `center`). */
  translation: Float64Array;
}

/**
 * Orthogonal Procrustes: the rotation R minimizing ‖X·R − Y‖_F over RᵀR = I (spec §3.1).
 *
 *     C = Xᵀ·Y = U·diag(s)·Vᵀ      (float64 thin SVD)
 *     R = U·Vᵀ                     (Kabsch, allowReflection = false and Dy = D:
 *                                   R = U·diag(1, …, 1, sign det(U·Vᵀ))·Vᵀ)
 *
 * `source` may be wider than `target` (D ≥ Dy, spec §3.1 "rectangular version"): then R is `[D, Dy]`
 * with orthonormal columns, the best isometric projection of the source onto the target's space.
 *
 * @param source - `[N, D]` rows X to rotate.
 * @param target - `[N, Dy]` rows Y, paired with `source` row by row; Dy ≤ D (usually Dy = D).
 * @param options - `allowReflection` (default true), `center` (default false).
 * @returns `{ rotation [D, Dy], aligned [N, Dy], residual, translation [Dy] }`.
 *
 * @throws {ShapeError} If `source` is empty (no rows or no columns), `target` does not have N rows, or is wider
 *   than `source` (Dy > D).
 * @throws {InvalidArgumentError} If an option has the wrong type, or an argument is not a matrix.
 * @throws {NonFiniteError} If `source` or `target` holds NaN or ±Infinity.
 *
 * @remarks
 * - float64 on the CPU (tensors are read with `dataSync`); the author's code notes that an fp32 SVD
 *   is "a recorded crash class". R is unique when C has full rank; for rank-deficient C any
 *   orthogonal completion is returned (still optimal).
 * - `allowReflection: false` has no effect when Dy < D: matrices with orthonormal columns form one
 *   connected set, so there is no reflection to forbid.
 * - Cost: N·D·Dy multiply-adds for C and again for `aligned` (blocked, register-tiled products,
 *   ≈ 0.4 s each at N = 2000, D = 768), plus one SVD of the `[D, Dy]` matrix C (≈ 1.25 s at
 *   768×768 in Node 20) and the D·D·Dy product U·Vᵀ. Measured end to end with N = 2000 (2 cores,
 *   Node 20): ≈ 40 ms at D = 128, ≈ 2.3 s at D = 768 (tools/perf/geometry/alignment-bench.mjs).
 *
 * @example
 * const source = [[1, 0], [0, 1], [1, 1]];
 * const target = [[0, 1], [-1, 0], [-1, 1]]; // source rotated by +90°
 * const { rotation, residual } = procrustes(source, target);
 * rotation.toArray(); // [[0, 1], [-1, 0]]
 * residual;           // ≈ 0
 *
 * @see {@link whitenedProcrustes}, {@link gpa}; geolip-core `linalg/procrustes.py`.
 */
export function procrustes(source: MatrixLike, target: MatrixLike, options: ProcrustesOptions = {}): ProcrustesResult {
  const op = 'procrustes';
  const allowReflection = readBoolean(op, 'options.allowReflection', options.allowReflection, true);
  const center = readBoolean(op, 'options.center', options.center, false);
  const x = toMatrix(op, 'source', source);
  const y = toMatrix(op, 'target', target);
  checkPair(op, 'source', x, 'target', y);
  return procrustesCore(x, y, { allowReflection, center });
}

/**
 * @internal Checks that `y` is `[N, Dy]` with Dy ≤ D for `x` `[N, D]`, with the message
 * `op: 'target' must have shape [N=10, D=4], got [9, 4]`.
 */
export function checkPair(op: string, nameX: string, x: Matrix, nameY: string, y: Matrix): void {
  const shapes = bindShapes(op);
  shapes.check(nameX, x, ['N', 'D']);
  if (x.rows === 0 || x.cols === 0) {
    throw new ShapeError(op, nameX, '[N ≥ 1, D ≥ 1]', x.shape, 'nothing to align');
  }
  if (y.rows !== x.rows || y.cols > x.cols) {
    throw new ShapeError(
      op,
      nameY,
      `[N=${x.rows}, D=${x.cols}]`,
      y.shape,
      y.rows === x.rows
        ? `'${nameY}' may be narrower than '${nameX}' (a rectangular rotation), never wider`
        : undefined,
    );
  }
}

/** @internal Procrustes on validated float64 matrices. */
export function procrustesCore(
  x: Matrix,
  y: Matrix,
  options: { allowReflection: boolean; center: boolean },
): ProcrustesResult {
  const dy = y.cols;
  let xs = x;
  let ys = y;
  let meanX: Float64Array | undefined;
  let meanY: Float64Array | undefined;
  if (options.center) {
    ({ mean: meanX, centered: xs } = centerColumns(x));
    ({ mean: meanY, centered: ys } = centerColumns(y));
  }
  const rotation = rotationFromCross(matmulTransposeA(xs, ys, 'procrustes'), options.allowReflection);
  const aligned = matmul(xs, rotation, 'procrustes');
  const translation = new Float64Array(dy);
  if (meanX && meanY) {
    // t = μ_Y − μ_X·R, and aligned = (X − μ_X)·R + μ_Y.
    for (let j = 0; j < dy; j++) {
      let s = 0;
      for (let i = 0; i < x.cols; i++) s += meanX[i]! * rotation.data[i * dy + j]!;
      translation[j] = meanY[j]! - s;
    }
    addRowVector(aligned, meanY);
  }
  return { rotation, aligned, residual: frobeniusDistance(aligned, y), translation };
}

/**
 * @internal R = U·Vᵀ from the SVD of the cross matrix C = Xᵀ·Y (`[D, Dy]`, D ≥ Dy), with the Kabsch
 * sign fix when reflections are not allowed and C is square.
 */
function rotationFromCross(cross: Matrix, allowReflection: boolean): Matrix {
  const { u, v } = svd(cross);
  const rotation = matmulTransposeB(u, v, 'procrustes');
  if (!allowReflection && cross.rows === cross.cols && cross.rows > 0 && det(rotation) < 0) {
    // Flip the left singular vector of the smallest singular value (the last column of U): U·Vᵀ
    // changes by −2·u_k·v_kᵀ, a rank-one update instead of a second D³ product.
    const k = u.cols;
    const cols = v.rows;
    const r = rotation.data;
    for (let i = 0; i < u.rows; i++) {
      const f = -2 * u.data[i * k + k - 1]!;
      const o = i * cols;
      for (let j = 0; j < cols; j++) r[o + j] = r[o + j]! + f * v.data[j * k + k - 1]!;
    }
  }
  return rotation;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the alignment files (exported for them, not re-exported from the index).

/** @internal Reads an optional boolean option. */
export function readBoolean(op: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(op, name, `must be a boolean, got ${typeof value}`);
  return value;
}

/** @internal Column means and the centred copy of `m`. */
export function centerColumns(m: Matrix): { mean: Float64Array; centered: Matrix } {
  const { rows, cols, data } = m;
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) mean[j] = mean[j]! + data[r * cols + j]!;
  if (rows > 0) for (let j = 0; j < cols; j++) mean[j] = mean[j]! / rows;
  const centered = new Matrix(rows, cols);
  const c = centered.data;
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) c[r * cols + j] = data[r * cols + j]! - mean[j]!;
  return { mean, centered };
}

/** @internal m[r, :] += v for every row (in place). */
export function addRowVector(m: Matrix, v: Float64Array): void {
  const { rows, cols, data } = m;
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) data[r * cols + j] = data[r * cols + j]! + v[j]!;
}

/** @internal Divides every row by max(‖row‖, eps) in place (a zero row stays zero), as torch `F.normalize`. */
export function normalizeRowsInPlace(m: Matrix, eps = 1e-12): Matrix {
  const { rows, cols, data } = m;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += data[o + j]! * data[o + j]!;
    const inv = 1 / Math.max(Math.sqrt(s), eps);
    for (let j = 0; j < cols; j++) data[o + j] = data[o + j]! * inv;
  }
  return m;
}

/** @internal Per-row cosine between paired rows of `a` and `b` (0 for a zero row). */
export function rowCosines(a: Matrix, b: Matrix): Float64Array {
  const { rows, cols } = a;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let j = 0; j < cols; j++) {
      const p = a.data[o + j]!;
      const q = b.data[o + j]!;
      ab += p * q;
      aa += p * p;
      bb += q * q;
    }
    out[r] = ab / (Math.max(Math.sqrt(aa), 1e-12) * Math.max(Math.sqrt(bb), 1e-12));
  }
  return out;
}

/** @internal Mean of {@link rowCosines} (NaN for zero rows). */
export function meanRowCosine(a: Matrix, b: Matrix): number {
  const c = rowCosines(a, b);
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i]!;
  return s / c.length;
}

/** @internal ‖a − b‖_F. */
export function frobeniusDistance(a: Matrix, b: Matrix): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}
