import * as tf from '@tensorflow/tfjs-core';

import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertFiniteData } from '../checks/assert-shape.js';
import { readTensorSync } from '../checks/read-tensor.js';
import { copyNestedRows } from '../internal/nested.js';

/**
 * A dense, row-major float64 matrix: the currency of GeoLIP's CPU linear algebra.
 *
 * tfjs has no SVD, eigendecomposition, determinant or solve, and its tensors are float32; the
 * `linalg` namespace and the alignment functions (Procrustes, whitening, GPA, PCA) therefore work on
 * `Matrix` in float64 on the CPU. Convert at the boundary with {@link toMatrix} / {@link Matrix.toTensor}.
 *
 * Entry (i, j) lives at `data[i * cols + j]`.
 */
/** Most entries a {@link Matrix} may have: 2³¹ − 1 float64 values (16 GiB), under the engines' typed-array limit. */
const MAX_MATRIX_ENTRIES = 2 ** 31 - 1;

export class Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;

  constructor(rows: number, cols: number, data?: Float64Array) {
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
      throw new InvalidArgumentError('Matrix', 'rows/cols', `must be non-negative integers, got ${rows}×${cols}`);
    }
    const n = rows * cols;
    if (!data && n > MAX_MATRIX_ENTRIES) {
      throw new InvalidArgumentError(
        'Matrix',
        'rows/cols',
        `${rows}×${cols} = ${n} entries exceeds the ${MAX_MATRIX_ENTRIES} a Float64Array can hold`,
      );
    }
    if (data && data.length !== n) {
      throw new ShapeError('Matrix', 'data', `length ${n} for ${rows}×${cols}`, [data.length]);
    }
    this.rows = rows;
    this.cols = cols;
    this.data = data ?? new Float64Array(n);
  }

  /** `[rows, cols]`, so a Matrix can be shape-checked like a tensor. */
  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  static zeros(rows: number, cols: number): Matrix {
    return new Matrix(rows, cols);
  }

  static identity(n: number): Matrix {
    const m = new Matrix(n, n);
    for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
    return m;
  }

  /** From nested arrays `[rows][cols]`; every row must have the same length. */
  static fromArray(array: readonly (readonly number[])[], op = 'Matrix.fromArray', argument = 'array'): Matrix {
    if (!Array.isArray(array)) throw new InvalidArgumentError(op, argument, 'must be an array of rows');
    const rows = array.length;
    const cols = rows > 0 ? (array[0]?.length ?? 0) : 0;
    const m = new Matrix(rows, cols);
    copyNestedRows(op, argument, array, cols, m.data);
    return m;
  }

  /** Reads a rank-2 tensor synchronously (`dataSync`). Prefer {@link Matrix.fromTensorAsync} on GPU backends. */
  static fromTensor(tensor: tf.Tensor, op = 'Matrix.fromTensor', argument = 'tensor'): Matrix {
    if (tensor.rank !== 2) throw new ShapeError(op, argument, '[rows, cols]', tensor.shape);
    const [r, c] = tensor.shape as [number, number];
    return new Matrix(r, c, Float64Array.from(readTensorSync(op, argument, tensor)));
  }

  static async fromTensorAsync(tensor: tf.Tensor, op = 'Matrix.fromTensorAsync', argument = 'tensor'): Promise<Matrix> {
    if (tensor.rank !== 2) throw new ShapeError(op, argument, '[rows, cols]', tensor.shape);
    const [r, c] = tensor.shape as [number, number];
    return new Matrix(r, c, Float64Array.from((await tensor.data()) as Float32Array));
  }

  get(i: number, j: number): number {
    return this.data[i * this.cols + j]!;
  }

  set(i: number, j: number, value: number): void {
    this.data[i * this.cols + j] = value;
  }

  clone(): Matrix {
    return new Matrix(this.rows, this.cols, this.data.slice());
  }

  /** Row i as a fresh Float64Array. */
  row(i: number): Float64Array {
    return this.data.slice(i * this.cols, (i + 1) * this.cols);
  }

  /** Column j as a fresh Float64Array. */
  column(j: number): Float64Array {
    const out = new Float64Array(this.rows);
    for (let i = 0; i < this.rows; i++) out[i] = this.data[i * this.cols + j]!;
    return out;
  }

  transpose(): Matrix {
    const { rows, cols, data } = this;
    const out = new Matrix(cols, rows);
    const o = out.data;
    // Blocked for cache friendliness on large matrices.
    const B = 32;
    for (let i0 = 0; i0 < rows; i0 += B) {
      const i1 = Math.min(rows, i0 + B);
      for (let j0 = 0; j0 < cols; j0 += B) {
        const j1 = Math.min(cols, j0 + B);
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) o[j * rows + i] = data[i * cols + j]!;
      }
    }
    return out;
  }

  toArray(): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < this.rows; i++) out.push(Array.from(this.data.subarray(i * this.cols, (i + 1) * this.cols)));
    return out;
  }

  /** A float32 tfjs tensor with the same entries (precision is lost beyond float32). */
  toTensor(): tf.Tensor2D {
    return tf.tensor2d(Float32Array.from(this.data), [this.rows, this.cols], 'float32');
  }
}

/** What the float64 functions accept: a {@link Matrix}, nested arrays, or a rank-2 tfjs tensor. */
export type MatrixLike = Matrix | readonly (readonly number[])[] | tf.Tensor2D;

/**
 * Converts a {@link MatrixLike} to a float64 {@link Matrix} and checks that every entry is finite.
 * A `Matrix` argument is returned as is (not copied); callers must not mutate it.
 * @throws {ShapeError} for a tensor that is not rank 2 or ragged nested arrays.
 * @throws {NonFiniteError} for NaN or ±Infinity entries.
 */
export function toMatrix(op: string, argument: string, value: MatrixLike): Matrix {
  let m: Matrix;
  if (value instanceof Matrix) m = value;
  else if (value instanceof tf.Tensor) m = Matrix.fromTensor(value, op, argument);
  else if (Array.isArray(value)) m = Matrix.fromArray(value, op, argument);
  else
    throw new InvalidArgumentError(
      op,
      argument,
      `must be a Matrix, a rank-2 tensor or nested arrays, got ${value === null ? 'null' : typeof value}`,
    );
  assertFiniteData(op, argument, m.data);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Dense products. All three share one blocked kernel: op(A) [n, k] and op(B) [k, m] are copied
// ("packed") block by block into contiguous, zero-padded panels (MR rows of op(A) interleaved per
// k step, NR columns of op(B) likewise), and an MR×NR tile of C is accumulated in scalar locals over
// a whole k block. That keeps the inner loop to MR + NR sequential loads per MR·NR multiply-adds
// with no stores, all in registers (≈ 5.5–6 GFLOP/s on one core in Node 20 versus ≈ 1.5 for the
// i-k-j loop it replaces; tile shapes 4×4, 4×2, 2×4, 2×6, 6×2, 4×3 and 3×4 were measured, 3×4 and
// 4×3 were best). Blocking over k (KC) and over rows (MC) keeps the panels in cache. Small products
// skip the packing and use plain loops. No entry is skipped, so non-finite entries propagate by
// IEEE rules (0·∞ = NaN) in every product.

/** Tile height (rows of C per micro-kernel call). */
const MR = 3;
/** Tile width (columns of C per micro-kernel call). */
const NR = 4;
/** Rows of op(A) per packed block (a multiple of MR). */
const MC = 48;
/** Depth of one packed block. */
const KC = 256;
/** Below this many multiply-adds the unpacked loops are faster than packing. */
const SMALL_PRODUCT = 16 * 16 * 16;

/**
 * Packs rows i0..i0+mc−1, depths p0..p0+kc−1 of op(A) into MR-row panels: panel r holds
 * op(A)[i0 + r·MR + ii, p0 + p] at `out[r·kc·MR + p·MR + ii]`, rows past `mc` zero.
 * op(A) = A ([n, k], starting at `off`, row stride `ld`) or, with `trans`, Aᵀ (A is [k, n]).
 */
function packA(
  a: Float64Array,
  off: number,
  ld: number,
  trans: boolean,
  i0: number,
  mc: number,
  p0: number,
  kc: number,
  out: Float64Array,
): void {
  let o = 0;
  for (let ir = 0; ir < mc; ir += MR) {
    const h = Math.min(MR, mc - ir);
    if (trans) {
      for (let p = 0; p < kc; p++) {
        const src = off + (p0 + p) * ld + i0 + ir;
        const dst = o + p * MR;
        let ii = 0;
        for (; ii < h; ii++) out[dst + ii] = a[src + ii]!;
        for (; ii < MR; ii++) out[dst + ii] = 0;
      }
    } else {
      for (let ii = 0; ii < MR; ii++) {
        if (ii < h) {
          const src = off + (i0 + ir + ii) * ld + p0;
          for (let p = 0; p < kc; p++) out[o + p * MR + ii] = a[src + p]!;
        } else {
          for (let p = 0; p < kc; p++) out[o + p * MR + ii] = 0;
        }
      }
    }
    o += kc * MR;
  }
}

/**
 * Packs depths p0..p0+kc−1, columns j0..j0+nc−1 of op(B) into NR-column panels: panel c holds
 * op(B)[p0 + p, j0 + c·NR + jj] at `out[c·kc·NR + p·NR + jj]`, columns past `nc` zero.
 * op(B) = B ([k, m], starting at `off`, row stride `ld`) or, with `trans`, Bᵀ (B is [m, k]).
 */
function packB(
  b: Float64Array,
  off: number,
  ld: number,
  trans: boolean,
  p0: number,
  kc: number,
  j0: number,
  nc: number,
  out: Float64Array,
): void {
  let o = 0;
  for (let jr = 0; jr < nc; jr += NR) {
    const w = Math.min(NR, nc - jr);
    if (trans) {
      for (let jj = 0; jj < NR; jj++) {
        if (jj < w) {
          const src = off + (j0 + jr + jj) * ld + p0;
          for (let p = 0; p < kc; p++) out[o + p * NR + jj] = b[src + p]!;
        } else {
          for (let p = 0; p < kc; p++) out[o + p * NR + jj] = 0;
        }
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const src = off + (p0 + p) * ld + j0 + jr;
        const dst = o + p * NR;
        let jj = 0;
        for (; jj < w; jj++) out[dst + jj] = b[src + jj]!;
        for (; jj < NR; jj++) out[dst + jj] = 0;
      }
    }
    o += kc * NR;
  }
}

/**
 * C[ci.., ..] += (MR×kc panel at ap)·(kc×NR panel at bp) for the top-left h×w corner of the tile
 * (row stride ldc). `edge` is MR·NR scratch for partial tiles.
 */
function microKernel(
  kc: number,
  ap: Float64Array,
  ao: number,
  bp: Float64Array,
  bo: number,
  c: Float64Array,
  ci: number,
  ldc: number,
  h: number,
  w: number,
  edge: Float64Array,
): void {
  let c00 = 0,
    c01 = 0,
    c02 = 0,
    c03 = 0;
  let c10 = 0,
    c11 = 0,
    c12 = 0,
    c13 = 0;
  let c20 = 0,
    c21 = 0,
    c22 = 0,
    c23 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = ap[ao]!;
    const a1 = ap[ao + 1]!;
    const a2 = ap[ao + 2]!;
    const b0 = bp[bo]!;
    const b1 = bp[bo + 1]!;
    const b2 = bp[bo + 2]!;
    const b3 = bp[bo + 3]!;
    c00 += a0 * b0;
    c01 += a0 * b1;
    c02 += a0 * b2;
    c03 += a0 * b3;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c12 += a1 * b2;
    c13 += a1 * b3;
    c20 += a2 * b0;
    c21 += a2 * b1;
    c22 += a2 * b2;
    c23 += a2 * b3;
    ao += MR;
    bo += NR;
  }
  if (h === MR && w === NR) {
    c[ci]! += c00;
    c[ci + 1]! += c01;
    c[ci + 2]! += c02;
    c[ci + 3]! += c03;
    ci += ldc;
    c[ci]! += c10;
    c[ci + 1]! += c11;
    c[ci + 2]! += c12;
    c[ci + 3]! += c13;
    ci += ldc;
    c[ci]! += c20;
    c[ci + 1]! += c21;
    c[ci + 2]! += c22;
    c[ci + 3]! += c23;
    return;
  }
  edge[0] = c00;
  edge[1] = c01;
  edge[2] = c02;
  edge[3] = c03;
  edge[4] = c10;
  edge[5] = c11;
  edge[6] = c12;
  edge[7] = c13;
  edge[8] = c20;
  edge[9] = c21;
  edge[10] = c22;
  edge[11] = c23;
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) c[ci + i * ldc + j]! += edge[i * NR + j]!;
}

/**
 * C += op(A)·op(B) (internal). C is the [n, m] block of `c` at `cOff` with row stride `ldc`; op(A) is
 * [n, k]: the block of `a` at `aOff` (row stride `lda`), or with `transA` the transpose of its
 * [k, n] block; op(B) is [k, m]: the block of `b` at `bOff` (row stride `ldb`), or with `transB` the
 * transpose of its [m, k] block. `c` must not overlap `a` or `b`.
 * @internal Not part of the public `linalg` namespace.
 */
export function gemm(
  n: number,
  m: number,
  k: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  transA: boolean,
  b: Float64Array,
  bOff: number,
  ldb: number,
  transB: boolean,
  c: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (n === 0 || m === 0 || k === 0) return;
  if (n * m * k <= SMALL_PRODUCT) {
    gemmSmall(n, m, k, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc);
    return;
  }
  const kcMax = Math.min(KC, k);
  const ap = new Float64Array(kcMax * Math.ceil(Math.min(MC, n) / MR) * MR);
  const bp = new Float64Array(kcMax * Math.ceil(m / NR) * NR);
  const edge = new Float64Array(MR * NR);
  for (let pc = 0; pc < k; pc += KC) {
    const kc = Math.min(KC, k - pc);
    packB(b, bOff, ldb, transB, pc, kc, 0, m, bp);
    for (let ic = 0; ic < n; ic += MC) {
      const mc = Math.min(MC, n - ic);
      packA(a, aOff, lda, transA, ic, mc, pc, kc, ap);
      for (let jr = 0; jr < m; jr += NR) {
        const w = Math.min(NR, m - jr);
        const bo = (jr / NR) * kc * NR;
        for (let ir = 0; ir < mc; ir += MR) {
          microKernel(
            kc,
            ap,
            (ir / MR) * kc * MR,
            bp,
            bo,
            c,
            cOff + (ic + ir) * ldc + jr,
            ldc,
            Math.min(MR, mc - ir),
            w,
            edge,
          );
        }
      }
    }
  }
}

/** {@link gemm} for small products: plain loops with a contiguous inner loop, no packing. */
function gemmSmall(
  n: number,
  m: number,
  k: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  transA: boolean,
  b: Float64Array,
  bOff: number,
  ldb: number,
  transB: boolean,
  c: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (transB) {
    // c[i, j] += Σ_p op(A)[i, p]·B[j, p]: dot products along the rows of B.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const bj = bOff + j * ldb;
        let s = 0;
        if (transA) for (let p = 0; p < k; p++) s += a[aOff + p * lda + i]! * b[bj + p]!;
        else {
          const ai = aOff + i * lda;
          for (let p = 0; p < k; p++) s += a[ai + p]! * b[bj + p]!;
        }
        c[cOff + i * ldc + j]! += s;
      }
    }
    return;
  }
  // c[i, :] += op(A)[i, p]·B[p, :].
  for (let i = 0; i < n; i++) {
    const ci = cOff + i * ldc;
    for (let p = 0; p < k; p++) {
      const v = transA ? a[aOff + p * lda + i]! : a[aOff + i * lda + p]!;
      const bp = bOff + p * ldb;
      for (let j = 0; j < m; j++) c[ci + j]! += v * b[bp + j]!;
    }
  }
}

/** C = A·B (A is [N, K], B is [K, M], C is [N, M]), float64, cache-blocked and register-tiled. */
export function matmul(a: Matrix, b: Matrix, op = 'matmul'): Matrix {
  if (a.cols !== b.rows) throw new ShapeError(op, 'b', `[${a.cols}, M]`, b.shape);
  const out = new Matrix(a.rows, b.cols);
  gemm(a.rows, b.cols, a.cols, a.data, 0, a.cols, false, b.data, 0, b.cols, false, out.data, 0, b.cols);
  return out;
}

/** C = Aᵀ·B without forming Aᵀ (A is [N, P], B is [N, Q], C is [P, Q]). */
export function matmulTransposeA(a: Matrix, b: Matrix, op = 'matmulTransposeA'): Matrix {
  if (a.rows !== b.rows) throw new ShapeError(op, 'b', `[${a.rows}, Q]`, b.shape);
  const out = new Matrix(a.cols, b.cols);
  gemm(a.cols, b.cols, a.rows, a.data, 0, a.cols, true, b.data, 0, b.cols, false, out.data, 0, b.cols);
  return out;
}

/** C = A·Bᵀ without forming Bᵀ (A is [N, K], B is [M, K], C is [N, M]). */
export function matmulTransposeB(a: Matrix, b: Matrix, op = 'matmulTransposeB'): Matrix {
  if (a.cols !== b.cols) throw new ShapeError(op, 'b', `[M, ${a.cols}]`, b.shape);
  const out = new Matrix(a.rows, b.rows);
  gemm(a.rows, b.rows, a.cols, a.data, 0, a.cols, false, b.data, 0, b.cols, true, out.data, 0, b.rows);
  return out;
}
