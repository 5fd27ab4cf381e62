import * as tf from '@tensorflow/tfjs-core';

import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertFiniteData, assertNumber } from '../checks/assert-shape.js';
import { constantMask, nonZero, safeSqrt } from '../internal/grad-utils.js';
import { determinantInPlace } from '../linalg/lu.js';
import { Matrix } from '../linalg/matrix.js';
import { copyNestedSimplices } from '../internal/nested.js';

/** Default validity threshold on V² (spec §1.2): a simplex counts as valid iff V² > 1e-20. */
export const CM_VALID_THRESHOLD = 1e-20;

/** One simplex `[V, D]` as nested arrays or a {@link Matrix}. */
export type SimplexPoints = Matrix | readonly (readonly number[])[];
/** A batch of simplices `[B, V, D]` as nested arrays. */
export type SimplexBatch = readonly (readonly (readonly number[])[])[];

/**
 * The Cayley–Menger prefactor (−1)^(k+1) / (2^k (k!)²) that turns det(M) into V² for a k-simplex.
 * k = 1: 1/2, 2: −1/16, 3: 1/288, 4: −1/9216 (spec §1.1).
 */
export function cayleyMengerPrefactor(k: number): number {
  if (!Number.isInteger(k) || k < 1)
    throw new InvalidArgumentError('cayleyMengerPrefactor', 'k', `must be an integer >= 1, got ${k}`);
  let fact = 1;
  for (let i = 2; i <= k; i++) fact *= i;
  return (k % 2 === 1 ? 1 : -1) / (2 ** k * fact * fact);
}

function factorial(k: number): number {
  let f = 1;
  for (let i = 2; i <= k; i++) f *= i;
  return f;
}

// ---------------------------------------------------------------------------------------------
// float64 CPU path

interface CpuBatch {
  data: Float64Array;
  batch: number;
  vertices: number;
  dim: number;
  single: boolean;
}

function toCpuBatch(op: string, points: SimplexPoints | SimplexBatch): CpuBatch {
  if (points instanceof Matrix) {
    assertFiniteData(op, 'points', points.data);
    return { data: points.data, batch: 1, vertices: points.rows, dim: points.cols, single: true };
  }
  if (!Array.isArray(points)) {
    throw new InvalidArgumentError(
      op,
      'points',
      `must be a tf.Tensor, a Matrix or nested arrays, got ${points === null ? 'null' : typeof points}`,
    );
  }
  const single = points.length === 0 || !Array.isArray((points[0] as unknown[])[0]);
  const batchArr = (single ? [points] : points) as SimplexBatch;
  const batch = batchArr.length;
  const vertices = batchArr[0]?.length ?? 0;
  const dim = batchArr[0]?.[0]?.length ?? 0;
  const data = new Float64Array(batch * vertices * dim);
  copyNestedSimplices(op, batchArr, vertices, dim, data);
  assertFiniteData(op, 'points', data);
  return { data, batch, vertices, dim, single };
}

function checkVertices(op: string, vertices: number, shape: readonly number[]): void {
  if (vertices < 2) {
    throw new ShapeError(
      op,
      'points',
      '[..., V, D] with V >= 2 (a k-simplex has k+1 >= 2 points)',
      shape,
      'too few points for a simplex',
    );
  }
}

/**
 * det of the bordered Cayley–Menger matrix of the V points starting at `offset` (float64),
 * using clamped squared distances D²ᵢⱼ = max(‖pᵢ − pⱼ‖², 0) and `work` of length (V+1)².
 */
export function cmDeterminantAt(
  data: Float64Array,
  offset: number,
  vertices: number,
  dim: number,
  work: Float64Array,
): number {
  const n = vertices + 1;
  work[0] = 0;
  for (let j = 1; j < n; j++) {
    work[j] = 1;
    work[j * n] = 1;
  }
  for (let i = 0; i < vertices; i++) {
    work[(i + 1) * n + (i + 1)] = 0;
    const pi = offset + i * dim;
    for (let j = i + 1; j < vertices; j++) {
      const pj = offset + j * dim;
      let s = 0;
      for (let t = 0; t < dim; t++) {
        const d = data[pi + t]! - data[pj + t]!;
        s += d * d;
      }
      work[(i + 1) * n + (j + 1)] = s;
      work[(j + 1) * n + (i + 1)] = s;
    }
  }
  return determinantInPlace(work, n);
}

function cpuDeterminants(
  op: string,
  points: SimplexPoints | SimplexBatch,
): { det: Float64Array; k: number; single: boolean } {
  const b = toCpuBatch(op, points);
  checkVertices(op, b.vertices, b.single ? [b.vertices, b.dim] : [b.batch, b.vertices, b.dim]);
  const work = new Float64Array((b.vertices + 1) ** 2);
  const det = new Float64Array(b.batch);
  const stride = b.vertices * b.dim;
  for (let i = 0; i < b.batch; i++) det[i] = cmDeterminantAt(b.data, i * stride, b.vertices, b.dim, work);
  return { det, k: b.vertices - 1, single: b.single };
}

// ---------------------------------------------------------------------------------------------
// tensor path (differentiable)

function checkTensor(op: string, points: tf.Tensor): void {
  if (points.dtype !== 'float32')
    throw new InvalidArgumentError(op, 'points', `must have dtype float32, got ${points.dtype}`);
  if (points.rank < 2) throw new ShapeError(op, 'points', '[..., V, D]', points.shape);
  checkVertices(op, points.shape[points.rank - 2]!, points.shape);
}

/**
 * det(G) of the edge Gram matrices G = E Eᵀ, E = [p₁ − p₀, …, p_k − p₀], batched `[B, V, D]` → `[B]`.
 * Gaussian elimination without pivoting, which is stable for the positive semi-definite G; an
 * exactly zero pivot (a repeated point) yields det 0 rather than NaN.
 */
function gramDeterminant(points3d: tf.Tensor3D): tf.Tensor1D {
  const [batch, vertices, dim] = points3d.shape;
  const k = vertices - 1;
  const p0 = tf.slice(points3d, [0, 0, 0], [batch, 1, dim]);
  const edges = tf.sub(tf.slice(points3d, [0, 1, 0], [batch, k, dim]), p0);
  let a: tf.Tensor3D = tf.matMul(edges, edges, false, true);
  let det: tf.Tensor1D = tf.ones([batch]);
  for (let j = 0; j < k; j++) {
    const m = k - j;
    const pivot = tf.reshape(tf.slice(a, [0, 0, 0], [batch, 1, 1]), [batch]) as tf.Tensor1D;
    det = tf.mul(det, pivot);
    if (m === 1) break;
    const safe = nonZero(pivot);
    const row = tf.slice(a, [0, 0, 1], [batch, 1, m - 1]); // [B, 1, m−1]
    const col = tf.slice(a, [0, 1, 0], [batch, m - 1, 1]); // [B, m−1, 1]
    const rest = tf.slice(a, [0, 1, 1], [batch, m - 1, m - 1]);
    a = tf.sub(rest, tf.div(tf.mul(col, row), tf.reshape(safe, [batch, 1, 1])));
  }
  return det;
}

function tensorSquaredVolume(points: tf.Tensor): tf.Tensor {
  const lead = points.shape.slice(0, -2);
  const [vertices, dim] = points.shape.slice(-2) as [number, number];
  const batch = lead.reduce((p, d) => p * d, 1);
  const k = vertices - 1;
  const detG = gramDeterminant(tf.reshape(points, [batch, vertices, dim]) as tf.Tensor3D);
  const f = factorial(k);
  return tf.reshape(tf.div(detG, f * f), lead);
}

// ---------------------------------------------------------------------------------------------
// public API

/**
 * Determinant of the bordered Cayley–Menger matrix of each simplex (spec §1.1).
 *
 *     M = [[0, 1ᵀ], [1, D²]],  D²ᵢⱼ = ‖pᵢ − pⱼ‖²,   V² = (−1)^(k+1) / (2^k (k!)²) · det(M)
 *
 * Two paths, chosen by the input type:
 * - **nested arrays or a `Matrix`** (float64, CPU): builds M from clamped squared distances and takes
 *   det(M) by LU with partial pivoting, exactly as the spec recommends. `[V, D]` → a number;
 *   `[B, V, D]` → a `Float64Array` of B determinants.
 * - **a `tf.Tensor` `[..., V, D]`** (float32, on the backend, differentiable): computes the same
 *   quantity through the identity det(M) = (−1)^(k+1) 2^k det(E Eᵀ), E the edge vectors from p₀
 *   (the numerically more stable Gram form of spec §1.2), with a batched elimination → `[...]`.
 *
 * @param points - `[..., V, D]` vertices, V = k + 1 ≥ 2 (any k ≥ 1, any D).
 * @returns det(M): `[...]` tensor, a number, or a `Float64Array` `[B]`.
 *
 * @throws {ShapeError} for fewer than 2 vertices or ragged arrays. @throws {NonFiniteError} for NaN/Inf in array input.
 * @throws {InvalidArgumentError} for a non-float32 tensor or an unsupported input type.
 *
 * @remarks The tensor path propagates NaN per simplex; it is not meant for near-degenerate
 * simplices' exact value (float32), only for losses. O(B·(V²D + V³)).
 *
 * @example
 * // unit right triangle: det(M) = −16 · (1/2)² = −4
 * cayleyMengerDeterminant([[0, 0], [1, 0], [0, 1]]); // -4
 */
export function cayleyMengerDeterminant(points: tf.Tensor): tf.Tensor;
export function cayleyMengerDeterminant(points: SimplexPoints): number;
export function cayleyMengerDeterminant(points: SimplexBatch): Float64Array;
export function cayleyMengerDeterminant(
  points: tf.Tensor | SimplexPoints | SimplexBatch,
): tf.Tensor | number | Float64Array {
  const op = 'cayleyMengerDeterminant';
  if (points instanceof tf.Tensor) {
    checkTensor(op, points);
    const k = points.shape[points.rank - 2]! - 1;
    return tf.tidy(() => tf.mul(tensorSquaredVolume(points), 1 / cayleyMengerPrefactor(k)));
  }
  const { det, single } = cpuDeterminants(op, points);
  return single ? det[0]! : det;
}

/**
 * Squared k-volume V² of each simplex (signed: negative or ≈0 values mark invalid simplices).
 * Same paths, shapes and errors as {@link cayleyMengerDeterminant}; V² = prefactor(k) · det(M).
 *
 * @example
 * simplexVolumeSquared([[0, 0], [1, 0], [0, 1]]); // 0.25
 */
export function simplexVolumeSquared(points: tf.Tensor): tf.Tensor;
export function simplexVolumeSquared(points: SimplexPoints): number;
export function simplexVolumeSquared(points: SimplexBatch): Float64Array;
export function simplexVolumeSquared(
  points: tf.Tensor | SimplexPoints | SimplexBatch,
): tf.Tensor | number | Float64Array {
  const op = 'simplexVolumeSquared';
  if (points instanceof tf.Tensor) {
    checkTensor(op, points);
    return tf.tidy(() => tensorSquaredVolume(points));
  }
  const { det, k, single } = cpuDeterminants(op, points);
  const c = cayleyMengerPrefactor(k);
  const v2 = det.map((d) => c * d);
  return single ? v2[0]! : v2;
}

export interface SimplexVolumeOptions {
  /** V² at or below this counts as degenerate and gives volume 0. Default 1e-20 (spec §1.2). */
  threshold?: number;
}

/**
 * k-dimensional volume of each simplex: V = √V² where V² > threshold, else 0.
 *
 * Regular 4-simplex with unit edges: √5/96 ≈ 0.0232924; five orthonormal vectors: √5/24 (spec §1.4).
 *
 * @param points - `[..., V, D]` vertices (tensor, `Matrix` or nested arrays; see {@link cayleyMengerDeterminant}).
 * @returns `[...]` volumes (tensor), a number, or a `Float64Array` `[B]`.
 *
 * @remarks Tensor path: differentiable; the square root is only taken where V² > threshold, so
 * degenerate simplices give volume 0 and gradient 0 instead of the infinite gradient of √ at 0.
 *
 * @example
 * simplexVolume([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]); // 1/6
 */
export function simplexVolume(points: tf.Tensor, options?: SimplexVolumeOptions): tf.Tensor;
export function simplexVolume(points: SimplexPoints, options?: SimplexVolumeOptions): number;
export function simplexVolume(points: SimplexBatch, options?: SimplexVolumeOptions): Float64Array;
export function simplexVolume(
  points: tf.Tensor | SimplexPoints | SimplexBatch,
  options: SimplexVolumeOptions = {},
): tf.Tensor | number | Float64Array {
  const op = 'simplexVolume';
  const threshold = assertNumber(op, 'threshold', options.threshold ?? CM_VALID_THRESHOLD, 0);
  if (points instanceof tf.Tensor) {
    checkTensor(op, points);
    return tf.tidy(() => safeSqrt(tensorSquaredVolume(points), threshold));
  }
  const { det, k, single } = cpuDeterminants(op, points);
  const c = cayleyMengerPrefactor(k);
  const vol = det.map((d) => (c * d > threshold ? Math.sqrt(c * d) : 0));
  return single ? vol[0]! : vol;
}

/**
 * Cayley–Menger validity of each simplex: V² > threshold (spec §1.3). The fraction of valid
 * simplices is what the cards print as "CM valid: 100%".
 *
 * @param points - `[..., V, D]` vertices (tensor, `Matrix` or nested arrays).
 * @returns `[...]` bool tensor; or for arrays `{ valid, count, total, fraction }`.
 *
 * @example
 * simplexValidity([[[0, 0], [1, 0], [0, 1]], [[0, 0], [1, 1], [2, 2]]]);
 * // { valid: [true, false], count: 1, total: 2, fraction: 0.5 }
 */
export function simplexValidity(points: tf.Tensor, options?: SimplexVolumeOptions): tf.Tensor;
export function simplexValidity(
  points: SimplexPoints | SimplexBatch,
  options?: SimplexVolumeOptions,
): SimplexValidityResult;
export function simplexValidity(
  points: tf.Tensor | SimplexPoints | SimplexBatch,
  options: SimplexVolumeOptions = {},
): tf.Tensor | SimplexValidityResult {
  const op = 'simplexValidity';
  const threshold = assertNumber(op, 'threshold', options.threshold ?? CM_VALID_THRESHOLD, 0);
  if (points instanceof tf.Tensor) {
    checkTensor(op, points);
    return tf.tidy(() => constantMask(tensorSquaredVolume(points), (v2) => tf.greater(v2, threshold)));
  }
  const { det, k } = cpuDeterminants(op, points);
  const c = cayleyMengerPrefactor(k);
  const valid = Array.from(det, (d) => c * d > threshold);
  const count = valid.filter(Boolean).length;
  return { valid, count, total: valid.length, fraction: valid.length ? count / valid.length : 0 };
}

export interface SimplexValidityResult {
  /** One flag per simplex. */
  valid: boolean[];
  count: number;
  total: number;
  /** count / total. */
  fraction: number;
}
