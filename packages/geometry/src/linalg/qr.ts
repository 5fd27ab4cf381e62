import { Matrix, toMatrix, type MatrixLike } from './matrix.js';

/** Thin QR factorization, see {@link qr}. */
export interface QrResult {
  /** `[M, K]` with orthonormal columns (QᵀQ = I), K = min(M, N). */
  q: Matrix;
  /** `[K, N]` upper triangular (trapezoidal when K < N), with a non-negative diagonal. */
  r: Matrix;
}

/** Below this a reflector tail counts as zero (its entries are ≤ 1e-290 next to a matrix scaled to max 1). */
const TINY_TAIL = 1e-290;

/**
 * ‖(x[off], x[off + stride], …)‖ over `count` entries without harmful underflow (internal): the
 * plain sum of squares when it is safely normal, otherwise a pass scaled by max|x_i|. Returns 0 when
 * every entry is ≤ 1e-290 in magnitude, so such a tail is left in place (τ = 0) rather than
 * turned into an inaccurate, non-orthogonal reflector.
 * @internal Not part of the public `linalg` namespace.
 */
export function tailNorm(x: Float64Array, off: number, stride: number, count: number): number {
  let sq = 0;
  for (let i = 0; i < count; i++) {
    const v = x[off + i * stride]!;
    sq += v * v;
  }
  if (sq >= 1e-280) return Math.sqrt(sq);
  let big = 0;
  for (let i = 0; i < count; i++) big = Math.max(big, Math.abs(x[off + i * stride]!));
  if (big <= TINY_TAIL) return 0;
  let scaled = 0;
  for (let i = 0; i < count; i++) {
    const v = x[off + i * stride]! / big;
    scaled += v * v;
  }
  return big * Math.sqrt(scaled);
}

/**
 * Householder reflector scalars (internal): given x₀ = `alpha` and ‖x[1:]‖ = `tail` (from
 * {@link tailNorm}), writes `[β, τ, scale]` into `out` so that H = I − τ v vᵀ with
 * v = (1, scale·x[1:]) maps x to β e₁.
 *
 * β = −sign(x₀)·‖x‖ (so x₀ − β never cancels), τ = (β − x₀)/β ∈ [1, 2],
 * scale = 1/(x₀ − β).
 * When the tail is zero no reflection is needed: τ = 0, β = x₀.
 *
 * @internal Not part of the public `linalg` namespace.
 */
export function householderScalars(alpha: number, tail: number, out: Float64Array): void {
  if (tail === 0) {
    out[0] = alpha;
    out[1] = 0;
    out[2] = 0;
    return;
  }
  const norm = Math.hypot(alpha, tail);
  const beta = alpha >= 0 ? -norm : norm;
  out[0] = beta;
  out[1] = (beta - alpha) / beta;
  out[2] = 1 / (alpha - beta);
}

/**
 * Σ_j x[xo + j]·y[yo + j] over `len` entries, with four partial sums (internal; the single-sum loop
 * is bound by floating-point add latency, this one runs about twice as fast in V8).
 * @internal Not part of the public `linalg` namespace.
 */
export function dotRange(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < len; j += 4) {
    s0 += x[xo + j]! * y[yo + j]!;
    s1 += x[xo + j + 1]! * y[yo + j + 1]!;
    s2 += x[xo + j + 2]! * y[yo + j + 2]!;
    s3 += x[xo + j + 3]! * y[yo + j + 3]!;
  }
  for (; j < len; j++) s0 += x[xo + j]! * y[yo + j]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * y[yo + j] += alpha·x[xo + j] for j < `len` (internal).
 * @internal Not part of the public `linalg` namespace.
 */
export function axpyRange(y: Float64Array, yo: number, x: Float64Array, xo: number, len: number, alpha: number): void {
  for (let j = 0; j < len; j++) y[yo + j]! += alpha * x[xo + j]!;
}

/**
 * Thin QR factorization by Householder reflections: A = Q·R.
 *
 * For each column j < K a reflector H_j = I − τ_j v_j v_jᵀ zeroes A[j+1:, j]; then
 * R = H_{K−1}⋯H_0·A (first K rows) and Q = H_0⋯H_{K−1}·[I_K; 0]. Finally the signs are fixed so
 * that diag(R) ≥ 0 (column j of Q and row j of R are negated together), which makes the
 * factorization unique for full-rank A and makes Q Haar-distributed when A is Gaussian.
 *
 * @param a - `[M, N]` any real matrix (a {@link Matrix}, nested arrays or a rank-2 tensor).
 * @returns `{ q: [M, K], r: [K, N] }` with K = min(M, N), QᵀQ = I_K and R upper triangular.
 *
 * @throws {ShapeError} If `a` is not rank 2 (tensor) or its rows are ragged (nested arrays).
 * @throws {NonFiniteError} If `a` contains NaN or ±Infinity.
 *
 * @remarks
 * - Backward stable: ‖A − QR‖ ≈ ε·‖A‖ and ‖QᵀQ − I‖ ≈ ε (unlike Gram–Schmidt).
 * - Rank-deficient A is fine: R then has (near-)zero diagonal entries; no pivoting is done.
 * - A is scaled by 1/max|a_ij| internally, so entries near the overflow or underflow limits are fine.
 * - Float64 on the CPU; O(2MN·K − 2K³/3) for R plus about the same for Q. Row-major throughout, so
 *   every inner loop runs over a contiguous row.
 *
 * @example
 * const { q, r } = qr([[3, 1], [4, 2]]);
 * r.toArray(); // ≈ [[5, 2.2], [0, 0.4]]
 * q.toArray(); // ≈ [[0.6, -0.8], [0.8, 0.6]]
 */
export function qr(a: MatrixLike): QrResult {
  const input = toMatrix('qr', 'a', a);
  const m = input.rows;
  const n = input.cols;
  const k = Math.min(m, n);
  const w = input.data.slice();
  // Work on A / max|a_ij| (divide: 1/max overflows for subnormal maxima); R is scaled back at the end.
  let scale = 0;
  for (let i = 0; i < w.length; i++) scale = Math.max(scale, Math.abs(w[i]!));
  if (scale > 0 && scale !== 1) for (let i = 0; i < w.length; i++) w[i]! /= scale;
  const tau = new Float64Array(k);
  const diag = new Float64Array(k);
  const acc = new Float64Array(Math.max(n, k));
  const hs = new Float64Array(3);

  for (let j = 0; j < k; j++) {
    const jj = j * n + j;
    const alpha = w[jj]!;
    householderScalars(alpha, tailNorm(w, jj + n, n, m - j - 1), hs);
    const t = hs[1]!;
    const scale = hs[2]!;
    diag[j] = hs[0]!;
    tau[j] = t;
    if (t === 0) continue;
    for (let i = j + 1; i < m; i++) w[i * n + j]! *= scale;
    // Apply H_j to the trailing columns: A[j:, j+1:] −= τ v (vᵀ A[j:, j+1:]).
    const len = n - j - 1;
    if (len === 0) continue;
    acc.fill(0, 0, len);
    for (let i = j; i < m; i++) {
      const vi = i === j ? 1 : w[i * n + j]!;
      if (vi !== 0) axpyRange(acc, 0, w, i * n + j + 1, len, vi);
    }
    for (let i = j; i < m; i++) {
      const f = t * (i === j ? 1 : w[i * n + j]!);
      if (f !== 0) axpyRange(w, i * n + j + 1, acc, 0, len, -f);
    }
  }

  // R: the upper trapezoid of the first K rows.
  const r = new Matrix(k, n);
  const rd = r.data;
  const unscale = scale > 0 ? scale : 1;
  for (let i = 0; i < k; i++) {
    rd[i * n + i] = diag[i]! * unscale;
    for (let c = i + 1; c < n; c++) rd[i * n + c] = w[i * n + c]! * unscale;
  }

  // Q = H_0⋯H_{K−1}·[I; 0], accumulated backwards so H_j only touches Q[j:, j:].
  const q = new Matrix(m, k);
  const qd = q.data;
  for (let i = 0; i < k; i++) qd[i * k + i] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const t = tau[j]!;
    if (t === 0) continue;
    const len = k - j;
    acc.fill(0, 0, len);
    for (let i = j; i < m; i++) {
      const vi = i === j ? 1 : w[i * n + j]!;
      if (vi !== 0) axpyRange(acc, 0, qd, i * k + j, len, vi);
    }
    for (let i = j; i < m; i++) {
      const f = t * (i === j ? 1 : w[i * n + j]!);
      if (f !== 0) axpyRange(qd, i * k + j, acc, 0, len, -f);
    }
  }

  // Sign convention: diag(R) ≥ 0.
  for (let j = 0; j < k; j++) {
    if (rd[j * n + j]! >= 0) continue;
    for (let c = j; c < n; c++) rd[j * n + c] = -rd[j * n + c]!;
    for (let i = 0; i < m; i++) qd[i * k + j] = -qd[i * k + j]!;
  }
  return { q, r };
}
