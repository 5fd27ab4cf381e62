import * as tf from '@tensorflow/tfjs-core';

import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertFiniteData } from '../internal/assert-shape.js';

/**
 * A dense, row-major float64 matrix: the currency of GeoLIP's CPU linear algebra.
 *
 * tfjs has no SVD, eigendecomposition, determinant or solve, and its tensors are float32; the
 * `linalg` namespace and the alignment functions (Procrustes, whitening, GPA, PCA) therefore work on
 * `Matrix` in float64 on the CPU. Convert at the boundary with {@link toMatrix} / {@link Matrix.toTensor}.
 *
 * Entry (i, j) lives at `data[i * cols + j]`.
 */
export class Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;

  constructor(rows: number, cols: number, data?: Float64Array) {
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
      throw new InvalidArgumentError('Matrix', 'rows/cols', `must be non-negative integers, got ${rows}×${cols}`);
    }
    const n = rows * cols;
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
    for (let i = 0; i < rows; i++) {
      const row = array[i];
      if (!Array.isArray(row) || row.length !== cols) {
        throw new ShapeError(op, argument, `[${rows}, ${cols}] (rectangular)`, [rows, Array.isArray(row) ? row.length : -1], `row ${i} differs`);
      }
      for (let j = 0; j < cols; j++) m.data[i * cols + j] = row[j] as number;
    }
    return m;
  }

  /** Reads a rank-2 tensor synchronously (`dataSync`). Prefer {@link Matrix.fromTensorAsync} on GPU backends. */
  static fromTensor(tensor: tf.Tensor, op = 'Matrix.fromTensor', argument = 'tensor'): Matrix {
    if (tensor.rank !== 2) throw new ShapeError(op, argument, '[rows, cols]', tensor.shape);
    const [r, c] = tensor.shape as [number, number];
    return new Matrix(r, c, Float64Array.from(tensor.dataSync() as Float32Array));
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
  else throw new InvalidArgumentError(op, argument, `must be a Matrix, a rank-2 tensor or nested arrays, got ${value === null ? 'null' : typeof value}`);
  assertFiniteData(op, argument, m.data);
  return m;
}

/** C = A·B, float64, i-k-j loop order (contiguous inner loop). */
export function matmul(a: Matrix, b: Matrix, op = 'matmul'): Matrix {
  if (a.cols !== b.rows) throw new ShapeError(op, 'b', `[${a.cols}, M]`, b.shape);
  const n = a.rows;
  const k = a.cols;
  const m = b.cols;
  const out = new Matrix(n, m);
  const A = a.data;
  const Bd = b.data;
  const C = out.data;
  for (let i = 0; i < n; i++) {
    const ci = i * m;
    for (let p = 0; p < k; p++) {
      const aip = A[i * k + p]!;
      if (aip === 0) continue;
      const bp = p * m;
      for (let j = 0; j < m; j++) C[ci + j]! += aip * Bd[bp + j]!;
    }
  }
  return out;
}

/** C = Aᵀ·B without forming Aᵀ (A is [N, P], B is [N, Q], C is [P, Q]). */
export function matmulTransposeA(a: Matrix, b: Matrix, op = 'matmulTransposeA'): Matrix {
  if (a.rows !== b.rows) throw new ShapeError(op, 'b', `[${a.rows}, Q]`, b.shape);
  const n = a.rows;
  const p = a.cols;
  const q = b.cols;
  const out = new Matrix(p, q);
  const A = a.data;
  const Bd = b.data;
  const C = out.data;
  for (let r = 0; r < n; r++) {
    const ar = r * p;
    const br = r * q;
    for (let i = 0; i < p; i++) {
      const v = A[ar + i]!;
      if (v === 0) continue;
      const ci = i * q;
      for (let j = 0; j < q; j++) C[ci + j]! += v * Bd[br + j]!;
    }
  }
  return out;
}

/** C = A·Bᵀ without forming Bᵀ (A is [N, K], B is [M, K], C is [N, M]). */
export function matmulTransposeB(a: Matrix, b: Matrix, op = 'matmulTransposeB'): Matrix {
  if (a.cols !== b.cols) throw new ShapeError(op, 'b', `[M, ${a.cols}]`, b.shape);
  const n = a.rows;
  const k = a.cols;
  const m = b.rows;
  const out = new Matrix(n, m);
  const A = a.data;
  const Bd = b.data;
  const C = out.data;
  for (let i = 0; i < n; i++) {
    const ai = i * k;
    for (let j = 0; j < m; j++) {
      const bj = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += A[ai + t]! * Bd[bj + t]!;
      C[i * m + j] = s;
    }
  }
  return out;
}
