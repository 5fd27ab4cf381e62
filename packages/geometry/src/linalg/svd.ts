import { ConvergenceError, InvalidArgumentError } from '../errors.js';
import { assertInteger } from '../checks/assert-shape.js';
import { Matrix, gemm, matmul, toMatrix, type MatrixLike } from './matrix.js';
import { axpyRange, dotRange, householderScalars, tailNorm } from './qr.js';
import { nextActiveBlock } from './deflation.js';

const EPS = 2.220446049250313e-16;

/** Options of {@link svd}. */
export interface SvdOptions {
  /**
   * Budget of implicit QR sweeps on the bidiagonal before {@link ConvergenceError}. Default 75·K (about 2·K are
   * typical).
   */
  maxSweeps?: number;
  /**
   * Compute the singular vectors. Default `true`. With `false` only `s` is returned (see
   * {@link SvdValuesResult}); U and V are never accumulated, which is most of the cost, and `s` is
   * exactly (bit for bit) the `s` of the full decomposition.
   */
  vectors?: boolean;
}

/** Thin singular value decomposition, see {@link svd}. */
export interface SvdResult {
  /** `[M, K]` left singular vectors as orthonormal columns, K = min(M, N). */
  u: Matrix;
  /** `[K]` singular values, non-negative and sorted descending. */
  s: Float64Array;
  /** `[N, K]` right singular vectors as orthonormal columns. */
  v: Matrix;
}

/** Singular values only: the result of {@link svd} with `{ vectors: false }`. */
export interface SvdValuesResult {
  /** `[K]` singular values, non-negative and sorted descending, K = min(M, N). */
  s: Float64Array;
  u?: undefined;
  v?: undefined;
}

/** Rotates rows p and q of the row-major `x` (row length `len`): p ← c·p + s·q, q ← c·q − s·p. */
function rotateRows(x: Float64Array, len: number, p: number, q: number, c: number, s: number): void {
  const ip = p * len;
  const iq = q * len;
  let j = 0;
  // Unrolled by 4 (the same operations per entry; V8 does not unroll this itself).
  for (; j + 3 < len; j += 4) {
    const p0 = x[ip + j]!;
    const p1 = x[ip + j + 1]!;
    const p2 = x[ip + j + 2]!;
    const p3 = x[ip + j + 3]!;
    const q0 = x[iq + j]!;
    const q1 = x[iq + j + 1]!;
    const q2 = x[iq + j + 2]!;
    const q3 = x[iq + j + 3]!;
    x[ip + j] = c * p0 + s * q0;
    x[ip + j + 1] = c * p1 + s * q1;
    x[ip + j + 2] = c * p2 + s * q2;
    x[ip + j + 3] = c * p3 + s * q3;
    x[iq + j] = c * q0 - s * p0;
    x[iq + j + 1] = c * q1 - s * p1;
    x[iq + j + 2] = c * q2 - s * p2;
    x[iq + j + 3] = c * q3 - s * p3;
  }
  for (; j < len; j++) {
    const xp = x[ip + j]!;
    const xq = x[iq + j]!;
    x[ip + j] = c * xp + s * xq;
    x[iq + j] = c * xq - s * xp;
  }
}

/**
 * Applies the chain of rotations of one QR sweep to rows lo..hi of the row-major `x` (row length
 * `len`): for k = lo, …, hi − 1 in order, rows (k, k+1) with (cs[k], sn[k]) as {@link rotateRows}.
 * Four consecutive rotations share one pass over five rows, carrying the row between them in a
 * register: every entry sees the same operations in the same order as with one rotation at a time
 * (identical results), with 5 loads and 5 stores per column instead of 16 of each.
 */
function rotateChain(x: Float64Array, len: number, lo: number, hi: number, cs: Float64Array, sn: Float64Array): void {
  let k = lo;
  for (; k + 3 < hi; k += 4) {
    const c0 = cs[k]!;
    const s0 = sn[k]!;
    const c1 = cs[k + 1]!;
    const s1 = sn[k + 1]!;
    const c2 = cs[k + 2]!;
    const s2 = sn[k + 2]!;
    const c3 = cs[k + 3]!;
    const s3 = sn[k + 3]!;
    const r0 = k * len;
    const r1 = r0 + len;
    const r2 = r1 + len;
    const r3 = r2 + len;
    const r4 = r3 + len;
    for (let j = 0; j < len; j++) {
      let t = x[r0 + j]!; // row k + g after rotations k..k+g−1
      const u0 = x[r1 + j]!;
      x[r0 + j] = c0 * t + s0 * u0;
      t = c0 * u0 - s0 * t;
      const u1 = x[r2 + j]!;
      x[r1 + j] = c1 * t + s1 * u1;
      t = c1 * u1 - s1 * t;
      const u2 = x[r3 + j]!;
      x[r2 + j] = c2 * t + s2 * u2;
      t = c2 * u2 - s2 * t;
      const u3 = x[r4 + j]!;
      x[r3 + j] = c3 * t + s3 * u3;
      x[r4 + j] = c3 * u3 - s3 * t;
    }
  }
  for (; k < hi; k++) rotateRows(x, len, k, k + 1, cs[k]!, sn[k]!);
}

/**
 * Householder bidiagonalization of the row-major [m, n] `w` (m ≥ n, overwritten):
 * H_{n−1}⋯H_0 · A · G_0⋯G_{n−3} = [B; 0] with B upper bidiagonal (diagonal `d`, superdiagonal `e`).
 * The left vectors stay in the columns of `w` below the diagonal, the right ones in its rows right of
 * the superdiagonal (both with an implicit leading 1).
 *
 * Step k needs acc = v_kᵀ·A[k:, k+1:] for its left reflector v_k, which is (up to the reflector's
 * scale) column k of the matrix updated by step k − 1. So step k − 1, while it updates each row i,
 * also accumulates g = Σ_{i ≥ k+1} A[i, k]·A[i, k+1:]; then acc = A[k, k+1:] + scale·g. That saves a
 * separate pass over the trailing matrix per column: one read-modify-write pass per step instead of
 * a read pass plus a read-modify-write pass.
 */
function bidiagonalize(
  w: Float64Array,
  m: number,
  n: number,
  d: Float64Array,
  e: Float64Array,
  tauL: Float64Array,
  tauR: Float64Array,
): void {
  const acc = new Float64Array(n);
  const g = new Float64Array(n); // Σ_i A[i, k]·A[i, k+1:] over the rows below the next pivot
  const v = new Float64Array(n);
  const hs = new Float64Array(3);
  let haveG = false; // whether g was accumulated by the previous step for this one
  for (let k = 0; k < n; k++) {
    // Left reflector H_k: zero A[k+1:, k].
    const alpha = w[k * n + k]!;
    householderScalars(alpha, tailNorm(w, (k + 1) * n + k, n, m - k - 1), hs);
    d[k] = hs[0]!;
    const tl = hs[1]!;
    tauL[k] = tl;
    const len = n - k - 1;
    if (tl !== 0) {
      const scale = hs[2]!;
      for (let i = k + 1; i < m; i++) w[i * n + k]! *= scale;
      if (len > 0) {
        // acc = vᵀ·A[k:, k+1:] with v = (1, scale·A[k+1:, k]).
        const rowK = k * n + k + 1;
        if (haveG) {
          for (let j = 0; j < len; j++) acc[j] = w[rowK + j]! + scale * g[j]!;
        } else {
          for (let j = 0; j < len; j++) acc[j] = w[rowK + j]!;
          for (let i = k + 1; i < m; i++) {
            const vi = w[i * n + k]!;
            if (vi !== 0) axpyRange(acc, 0, w, i * n + k + 1, len, vi);
          }
        }
        // Row k first: the right reflector is built from it.
        axpyRange(w, rowK, acc, 0, len, -tl);
      }
    }
    haveG = false;
    if (len === 0) break;
    // Right reflector G_k: zero A[k, k+2:] (only while k < n − 2).
    let tr = 0;
    if (k < n - 2) {
      const row = k * n + k + 1;
      householderScalars(w[row]!, tailNorm(w, row + 1, 1, len - 1), hs);
      e[k] = hs[0]!;
      tr = hs[1]!;
      tauR[k] = tr;
      if (tr !== 0) {
        const scale = hs[2]!;
        v[0] = 1;
        for (let j = 1; j < len; j++) {
          const vj = w[row + j]! * scale;
          w[row + j] = vj;
          v[j] = vj;
        }
      }
    } else {
      e[k] = w[k * n + k + 1]!;
    }
    if (tl === 0 && tr === 0) continue;
    // One pass over rows k+1..m−1: A ← H_k·A (rank-1 with acc), then A ← A·G_k (rank-1 with A·v),
    // and, for the rows below row k + 1, g += A[i, k+1]·A[i, k+2:] for the next step.
    const gLen = len - 1;
    haveG = gLen > 0;
    if (haveG) g.fill(0, 0, gLen);
    for (let i = k + 1; i < m; i++) {
      const base = i * n + k + 1;
      const f = tl * w[i * n + k]!;
      if (tr === 0) {
        if (f !== 0) axpyRange(w, base, acc, 0, len, -f);
        if (haveG && i > k + 1) {
          const x = w[base]!;
          if (x !== 0) axpyRange(g, 0, w, base + 1, gLen, x);
        }
        continue;
      }
      // y = row − f·acc (stored), dot = y·v, in one loop with four partial sums.
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      let j = 0;
      for (; j + 3 < len; j += 4) {
        const y0 = w[base + j]! - f * acc[j]!;
        const y1 = w[base + j + 1]! - f * acc[j + 1]!;
        const y2 = w[base + j + 2]! - f * acc[j + 2]!;
        const y3 = w[base + j + 3]! - f * acc[j + 3]!;
        w[base + j] = y0;
        w[base + j + 1] = y1;
        w[base + j + 2] = y2;
        w[base + j + 3] = y3;
        d0 += y0 * v[j]!;
        d1 += y1 * v[j + 1]!;
        d2 += y2 * v[j + 2]!;
        d3 += y3 * v[j + 3]!;
      }
      for (; j < len; j++) {
        const y0 = w[base + j]! - f * acc[j]!;
        w[base + j] = y0;
        d0 += y0 * v[j]!;
      }
      const c = tr * (d0 + d1 + (d2 + d3));
      if (haveG && i > k + 1) {
        // row −= c·v (v[0] = 1), and g += row[0]·row[1:].
        const x = w[base]! - c;
        w[base] = x;
        let jj = 1;
        for (; jj + 3 < len; jj += 4) {
          const y0 = w[base + jj]! - c * v[jj]!;
          const y1 = w[base + jj + 1]! - c * v[jj + 1]!;
          const y2 = w[base + jj + 2]! - c * v[jj + 2]!;
          const y3 = w[base + jj + 3]! - c * v[jj + 3]!;
          w[base + jj] = y0;
          w[base + jj + 1] = y1;
          w[base + jj + 2] = y2;
          w[base + jj + 3] = y3;
          g[jj - 1]! += x * y0;
          g[jj]! += x * y1;
          g[jj + 1]! += x * y2;
          g[jj + 2]! += x * y3;
        }
        for (; jj < len; jj++) {
          const y0 = w[base + jj]! - c * v[jj]!;
          w[base + jj] = y0;
          g[jj - 1]! += x * y0;
        }
      } else if (c !== 0) {
        axpyRange(w, base, v, 0, len, -c);
      }
    }
  }
}

/** Reflectors per block in {@link accumulateReflectors}; fewer than 2 blocks use the unblocked loop. */
const REFLECTOR_BLOCK = 32;

/**
 * The rows of `[I 0]·P_{count−1}⋯P_0` as a row-major [rows, len] array, for Householder reflectors
 * P_k = I − τ_k·v_k·v_kᵀ stored by {@link bidiagonalize}: v_k is zero before position k + shift, 1
 * there, and its entries after that are `w[start_k + i·stride]` (i = 1, 2, …), where
 * start_k = k·(ldw + 1) + shift. P_k only touches rows and columns ≥ k + shift.
 *
 * Unblocked for few reflectors. Otherwise blocks of b reflectors, last block first, are applied as
 * one product: P_{k0+b−1}⋯P_{k0} = (I − V·T·Vᵀ)ᵀ with V = [v_{k0} … v_{k0+b−1}] and T upper
 * triangular (compact WY), so the update X ← X − (X·V)·Tᵀ·Vᵀ runs through {@link gemm}.
 */
function accumulateReflectors(
  w: Float64Array,
  ldw: number,
  shift: number,
  stride: number,
  tau: Float64Array,
  count: number,
  rows: number,
  len: number,
): Float64Array {
  const out = new Float64Array(rows * len);
  for (let i = 0; i < rows; i++) out[i * len + i] = 1;
  const vecStart = (k: number): number => k * (ldw + 1) + shift;
  if (count < 2 * REFLECTOR_BLOCK) {
    const v = new Float64Array(len);
    for (let k = count - 1; k >= 0; k--) {
      const t = tau[k]!;
      if (t === 0) continue;
      const c0 = k + shift;
      const vl = len - c0;
      const start = vecStart(k);
      v[0] = 1;
      for (let j = 1; j < vl; j++) v[j] = w[start + j * stride]!;
      for (let i = c0; i < rows; i++) {
        const base = i * len + c0;
        const dot = dotRange(out, base, v, 0, vl);
        if (dot !== 0) axpyRange(out, base, v, 0, vl, -t * dot);
      }
    }
    return out;
  }

  const nb = REFLECTOR_BLOCK;
  const vb = new Float64Array(len * nb); // V: [len − c0, b], row-major
  const gram = new Float64Array(nb * nb); // VᵀV
  const t = new Float64Array(nb * nb); // T (upper triangular)
  const xv = new Float64Array(rows * nb); // X·V, then −X·V·Tᵀ
  const tmp = new Float64Array(nb);
  for (let kEnd = count; kEnd > 0; kEnd -= nb) {
    const k0 = Math.max(0, kEnd - nb);
    const b = kEnd - k0;
    const c0 = k0 + shift; // first row and column the block touches
    const mr = rows - c0;
    const mc = len - c0;
    // V, with its unit diagonal and zeros above.
    vb.fill(0, 0, mc * b);
    for (let j = 0; j < b; j++) {
      vb[j * b + j] = 1;
      const start = vecStart(k0 + j);
      for (let i = j + 1; i < mc; i++) vb[i * b + j] = w[start + (i - j) * stride]!;
    }
    // T: T[j, j] = τ_j, T[0:j, j] = −τ_j·T[0:j, 0:j]·(V[:, 0:j]ᵀ·v_j).
    gram.fill(0, 0, b * b);
    gemm(b, b, mc, vb, 0, b, true, vb, 0, b, false, gram, 0, b);
    t.fill(0, 0, b * b);
    for (let j = 0; j < b; j++) {
      const tj = tau[k0 + j]!;
      t[j * b + j] = tj;
      if (tj === 0) continue;
      for (let i = 0; i < j; i++) {
        let acc = 0;
        for (let l = i; l < j; l++) acc += t[i * b + l]! * gram[l * b + j]!;
        tmp[i] = acc;
      }
      for (let i = 0; i < j; i++) t[i * b + j] = -tj * tmp[i]!;
    }
    // xv = X·V  ([mr, b]), X = out[c0:, c0:].
    const xOff = c0 * len + c0;
    xv.fill(0, 0, mr * b);
    gemm(mr, b, mc, out, xOff, len, false, vb, 0, b, false, xv, 0, b);
    // xv ← −xv·Tᵀ, row by row (T upper triangular: (xv·Tᵀ)[r, i] = Σ_{l ≥ i} xv[r, l]·T[i, l]).
    for (let r = 0; r < mr; r++) {
      const o = r * b;
      for (let i = 0; i < b; i++) {
        let acc = 0;
        for (let l = i; l < b; l++) acc += xv[o + l]! * t[i * b + l]!;
        tmp[i] = acc;
      }
      for (let i = 0; i < b; i++) xv[o + i] = -tmp[i]!;
    }
    // X += xv·Vᵀ.
    gemm(mr, mc, b, xv, 0, b, false, vb, 0, b, true, out, xOff, len);
  }
  return out;
}

/** Uᵀ = [I 0]·H_{n−1}⋯H_0 as a row-major [n, m] array (H_k only touches rows and columns ≥ k). */
function leftVectorsTransposed(w: Float64Array, m: number, n: number, tauL: Float64Array): Float64Array {
  // v_k: 1 at position k, then column k of w below the diagonal (stride n).
  return accumulateReflectors(w, n, 0, n, tauL, n, n, m);
}

/** Vᵀ = G_{n−3}⋯G_0 as a row-major [n, n] array (G_k only touches rows and columns > k). */
function rightVectorsTransposed(w: Float64Array, n: number, tauR: Float64Array): Float64Array {
  // v_k: 1 at position k + 1, then row k of w right of the superdiagonal (stride 1).
  return accumulateReflectors(w, n, 1, 1, tauR, Math.max(n - 2, 0), n, n);
}

/**
 * Golub–Kahan implicit-shift QR on the upper bidiagonal (d, e) of size n, with Wilkinson shifts
 * from the trailing 2×2 of BᵀB, deflation at |e_i| ≤ ε·‖B‖ and zero-diagonal chasing. Left rotations
 * are applied to the rows of `ut` (row length `uLen`), right rotations to the rows of `vt`; pass
 * `null` for either to skip them (the rotations never feed back into d and e).
 */
function bidiagonalQr(
  d: Float64Array,
  e: Float64Array,
  n: number,
  ut: Float64Array | null,
  uLen: number,
  vt: Float64Array | null,
  op: string,
  maxSweeps: number,
): void {
  let anorm = 0;
  for (let i = 0; i < n; i++) anorm = Math.max(anorm, Math.abs(d[i]!) + (i < n - 1 ? Math.abs(e[i]!) : 0));
  const tol = EPS * anorm;
  // Rotations of the current sweep, applied to Vᵀ and Uᵀ after it (they never feed back into d, e).
  const vc = new Float64Array(n);
  const vs = new Float64Array(n);
  const uc = new Float64Array(n);
  const us = new Float64Array(n);
  let sweeps = 0;
  let hi = n - 1;
  for (;;) {
    const block = nextActiveBlock(e, hi, tol);
    hi = block.hi;
    if (hi === 0) break;
    const lo = block.lo;

    // A negligible diagonal entry splits the block once its row (or column) is rotated away.
    let zero = -1;
    for (let i = hi; i >= lo; i--) {
      if (Math.abs(d[i]!) <= tol) {
        zero = i;
        break;
      }
    }
    if (zero >= 0) {
      d[zero] = 0;
      if (zero < hi) {
        // Zero row `zero` with left rotations of rows (j, zero), j = zero+1..hi.
        let f = e[zero]!;
        e[zero] = 0;
        for (let j = zero + 1; j <= hi; j++) {
          const r = Math.hypot(d[j]!, f);
          const c = d[j]! / r;
          const s = f / r;
          d[j] = r;
          if (ut) rotateRows(ut, uLen, j, zero, c, s);
          if (j < hi) {
            f = -s * e[j]!;
            e[j] = c * e[j]!;
          }
        }
      } else {
        // d[hi] = 0: zero column hi with right rotations of columns (j, hi), j = hi−1..lo.
        let f = e[hi - 1]!;
        e[hi - 1] = 0;
        for (let j = hi - 1; j >= lo; j--) {
          const r = Math.hypot(d[j]!, f);
          const c = d[j]! / r;
          const s = f / r;
          d[j] = r;
          if (vt) rotateRows(vt, n, j, hi, c, s);
          if (j > lo) {
            f = -s * e[j - 1]!;
            e[j - 1] = c * e[j - 1]!;
          }
        }
      }
      continue;
    }

    if (++sweeps > maxSweeps) {
      throw new ConvergenceError(op, `bidiagonal QR did not converge within ${maxSweeps} sweeps`, maxSweeps);
    }
    // Wilkinson shift: eigenvalue of the trailing 2×2 of BᵀB closer to its last diagonal entry.
    const dm = d[hi - 1]!;
    const dn = d[hi]!;
    const em = e[hi - 1]!;
    const el = hi - 1 > lo ? e[hi - 2]! : 0;
    const t11 = dm * dm + el * el;
    const t12 = dm * em;
    const t22 = dn * dn + em * em;
    const delta = 0.5 * (t11 - t22);
    const denom = delta + (delta >= 0 ? 1 : -1) * Math.hypot(delta, t12);
    const mu = denom === 0 ? t22 : t22 - (t12 * t12) / denom;

    let y = d[lo]! * d[lo]! - mu;
    let z = d[lo]! * e[lo]!;
    for (let k = lo; k < hi; k++) {
      // Right rotation of columns (k, k+1) zeroing z against y.
      let r = Math.hypot(y, z);
      let c = 1;
      let s = 0;
      if (r !== 0) {
        c = y / r;
        s = z / r;
      }
      if (k > lo) e[k - 1] = r;
      const dk = d[k]!;
      const ek = e[k]!;
      const dk1 = d[k + 1]!;
      const alpha = c * dk + s * ek; // B[k][k]
      const beta = c * ek - s * dk; // B[k][k+1]
      const gamma = s * dk1; // bulge B[k+1][k]
      const delta2 = c * dk1; // B[k+1][k+1]
      vc[k] = c;
      vs[k] = s;
      // Left rotation of rows (k, k+1) zeroing the bulge.
      r = Math.hypot(alpha, gamma);
      c = 1;
      s = 0;
      if (r !== 0) {
        c = alpha / r;
        s = gamma / r;
      }
      d[k] = r;
      e[k] = c * beta + s * delta2;
      d[k + 1] = c * delta2 - s * beta;
      if (k < hi - 1) {
        const en = e[k + 1]!;
        z = s * en; // bulge B[k][k+2]
        e[k + 1] = c * en;
        y = e[k]!;
      }
      uc[k] = c;
      us[k] = s;
    }
    if (vt) rotateChain(vt, n, lo, hi, vc, vs);
    if (ut) rotateChain(ut, uLen, lo, hi, uc, us);
  }
}

/** Copies rows `perm[j]` of the row-major [rows, cols] `src` into COLUMN j of a new [cols, count] Matrix. */
function permutedTranspose(src: Float64Array, cols: number, perm: readonly number[], count: number): Matrix {
  const out = new Matrix(cols, count);
  const o = out.data;
  for (let j = 0; j < count; j++) {
    const base = perm[j]! * cols;
    for (let i = 0; i < cols; i++) o[i * count + j] = src[base + i]!;
  }
  return out;
}

/**
 * Singular values only of a tall matrix held row-major in `w` ([m, n], m ≥ n ≥ 1, max|w| = 1,
 * overwritten): the bidiagonalization and the QR iteration of {@link svdTall} without any vector
 * accumulation, so the values are bit-for-bit those of the full decomposition. Unsorted, ≥ 0.
 */
function singularValuesTall(w: Float64Array, m: number, n: number, op: string, maxSweeps: number): Float64Array {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(n - 1, 0));
  bidiagonalize(w, m, n, d, e, new Float64Array(n), new Float64Array(Math.max(n - 2, 0)));
  bidiagonalQr(d, e, n, null, 0, null, op, maxSweeps);
  for (let i = 0; i < n; i++) d[i] = Math.abs(d[i]!);
  return d;
}

/**
 * Thin SVD of a tall matrix held row-major in `w` ([m, n], m ≥ n ≥ 1, max|w| = 1, overwritten).
 * Returns Uᵀ ([n, m]), Vᵀ ([n, n]) and the unsorted, non-negative singular values.
 */
function svdTall(
  w: Float64Array,
  m: number,
  n: number,
  op: string,
  maxSweeps: number,
): { ut: Float64Array; vt: Float64Array; s: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(n - 1, 0));
  const tauL = new Float64Array(n);
  const tauR = new Float64Array(Math.max(n - 2, 0));
  bidiagonalize(w, m, n, d, e, tauL, tauR);
  const uh = leftVectorsTransposed(w, m, n, tauL);
  const vt = rightVectorsTransposed(w, n, tauR);
  let ut: Float64Array;
  if (m >= 2 * n) {
    // Very tall: rotate an [n, n] accumulator, then Uᵀ = L·Uhᵀ (rotations cost O(n) instead of O(m)).
    const lt = new Float64Array(n * n);
    for (let i = 0; i < n; i++) lt[i * n + i] = 1;
    bidiagonalQr(d, e, n, lt, n, vt, op, maxSweeps);
    ut = matmul(new Matrix(n, n, lt), new Matrix(n, m, uh)).data;
  } else {
    bidiagonalQr(d, e, n, uh, m, vt, op, maxSweeps);
    ut = uh;
  }
  for (let i = 0; i < n; i++) {
    if (d[i]! < 0) {
      d[i] = -d[i]!;
      const base = i * n;
      for (let j = 0; j < n; j++) vt[base + j] = -vt[base + j]!;
    }
  }
  return { ut, vt, s: d };
}

/**
 * Thin singular value decomposition: A = U·diag(s)·Vᵀ, K = min(M, N).
 *
 * Householder bidiagonalization A = U_B·B·V_Bᵀ, then Golub–Kahan implicit-shift QR on the bidiagonal
 * B (Wilkinson shift from the trailing 2×2 of BᵀB; zero diagonals are chased out with Givens
 * rotations). A wide A (M < N) is factored as Aᵀ = V·S·Uᵀ. The input is scaled by 1/max|a_ij|
 * first, so no intermediate overflows.
 *
 * @param a - `[M, N]` any real matrix (a {@link Matrix}, nested arrays or a rank-2 tensor).
 * @param options - `maxSweeps`: QR sweep budget (default 75·K); `vectors` (default true): `false`
 *   returns the singular values only, skipping the accumulation of U and V.
 * @returns `u`: `[M, K]` orthonormal columns; `s`: `[K]` singular values, ≥ 0 and descending;
 *   `v`: `[N, K]` orthonormal columns. Column j of `u` and `v` belongs to `s[j]`. With
 *   `vectors: false`, only `{ s }` ({@link SvdValuesResult}), identical to the full `s`.
 *
 * @throws {ShapeError} If `a` is not rank 2 (tensor) or its rows are ragged (nested arrays).
 * @throws {NonFiniteError} If `a` contains NaN or ±Infinity.
 * @throws {InvalidArgumentError} If `options.maxSweeps` is not an integer ≥ 1, or `options.vectors`
 *   is not a boolean.
 * @throws {ConvergenceError} If the QR iteration exceeds `maxSweeps` (75·K by default; about 2·K are
 *   typical, so this is not observed in practice).
 *
 * @remarks
 * - Backward stable: ‖A − U·diag(s)·Vᵀ‖ ≈ ε·‖A‖, and each singular value is accurate
 *   to ≈ ε·‖A‖₂ (absolute). Singular vectors are unique only up to sign (and to rotations within repeated
 *   singular values); compare invariants, never signs.
 * - Rank-deficient and zero matrices are fine: trailing singular values are (near) 0 and the
 *   matching vectors still form orthonormal columns. An empty A (M or N = 0) gives K = 0.
 * - Float64 on the CPU, one thread. For M ≥ N: ≈ 4MN² − 4N³/3 flops for the bidiagonalization
 *   (one fused pass over the trailing rows per step), about the same again for U and V (reflectors
 *   applied 32 at a time as blocked products), and ≈ 6·N²·(M + N) for the QR rotations (each sweep's
 *   rotations applied afterwards, four per pass over the rows of Uᵀ and Vᵀ). For M ≥ 2N the left
 *   rotations go to an [N, N] accumulator that is applied with one product. Measured in Node 20:
 *   768×768 in ≈ 1.25 s, 1024×1024 in ≈ 3 s, about 5× faster than ml-matrix
 *   (`tools/perf/geometry/linalg-bench.mjs`).
 * - `vectors: false` costs only the bidiagonalization and the QR iteration on (d, e): for M ≥ N
 *   ≈ 4MN² − 4N³/3 flops plus O(N²) (2000×768 in ≈ 1.3 s, versus ≈ 4 s with vectors).
 *
 * @example
 * const { u, s, v } = svd([[3, 0], [4, 5]]);
 * s; // Float64Array [6.7082…, 2.2360…]  (√45 and √5)
 * // u.column(0), v.column(0) are unit vectors with A·v₀ = s₀·u₀.
 *
 * @see {@link polarFactor} for the orthogonal factor U·Vᵀ used by Procrustes.
 */
export function svd(a: MatrixLike, options?: SvdOptions & { vectors?: true }): SvdResult;
/** Singular values only (`{ vectors: false }`): `{ s }`, without forming U or V; see the first overload. */
export function svd(a: MatrixLike, options: SvdOptions & { vectors: false }): SvdValuesResult;
/** `vectors` not known statically: the full result, or `{ s }` only when `vectors` is `false`. */
export function svd(a: MatrixLike, options?: SvdOptions): SvdResult | SvdValuesResult;
export function svd(a: MatrixLike, options: SvdOptions = {}): SvdResult | SvdValuesResult {
  const input = toMatrix('svd', 'a', a);
  const rows = input.rows;
  const cols = input.cols;
  const k = Math.min(rows, cols);
  const maxSweeps =
    options.maxSweeps === undefined
      ? 75 * Math.max(k, 1)
      : assertInteger('svd', 'options.maxSweeps', options.maxSweeps, 1);
  const vectors = options.vectors ?? true;
  if (typeof vectors !== 'boolean')
    throw new InvalidArgumentError('svd', 'options.vectors', `must be a boolean, got ${typeof vectors}`);
  const src = input.data;
  let scale = 0;
  for (let i = 0; i < src.length; i++) scale = Math.max(scale, Math.abs(src[i]!));
  if (!vectors && (k === 0 || scale === 0)) return { s: new Float64Array(k) };
  if (k === 0 || scale === 0) {
    const u = new Matrix(rows, k);
    const v = new Matrix(cols, k);
    for (let i = 0; i < k; i++) {
      u.data[i * k + i] = 1;
      v.data[i * k + i] = 1;
    }
    return { u, s: new Float64Array(k), v };
  }

  const transposed = rows < cols;
  const m = transposed ? cols : rows;
  const n = k;
  const w = transposed ? input.transpose().data : src.slice();
  // Divide (not multiply by 1/scale): 1/scale overflows when max|a_ij| is subnormal.
  for (let i = 0; i < w.length; i++) w[i]! /= scale;

  if (!vectors) {
    const values = singularValuesTall(w, m, n, 'svd', maxSweeps).sort().reverse();
    for (let j = 0; j < n; j++) values[j]! *= scale;
    return { s: values };
  }

  const { ut, vt, s: raw } = svdTall(w, m, n, 'svd', maxSweeps);
  const perm = Array.from({ length: n }, (_, i) => i);
  perm.sort((i, j) => raw[j]! - raw[i]!);
  const s = new Float64Array(n);
  for (let j = 0; j < n; j++) s[j] = raw[perm[j]!]! * scale;
  const uTall = permutedTranspose(ut, m, perm, n); // [m, n]
  const vTall = permutedTranspose(vt, n, perm, n); // [n, n]
  return transposed ? { u: vTall, s, v: uTall } : { u: uTall, s, v: vTall };
}
