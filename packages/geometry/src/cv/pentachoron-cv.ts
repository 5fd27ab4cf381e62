import * as tf from '@tensorflow/tfjs-core';

import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertFiniteData, assertInteger, assertNumber } from '../checks/assert-shape.js';
import { readTensorSync } from '../checks/read-tensor.js';
import { Matrix, type MatrixLike } from '../linalg/matrix.js';
import { createRng, type Rng } from '../random/rng.js';
import { sampleSphereData } from '../random/sample-sphere.js';
import { constantMask, safeSqrt } from '../internal/grad-utils.js';
import {
  CM_VALID_THRESHOLD,
  cayleyMengerPrefactor,
  cmDeterminantAt,
  simplexVolumeSquared,
} from '../simplex/cayley-menger.js';

/** Most simplices one CV call samples (`samples` ≤ 10⁶, about a second of float64 work at 5 vertices). */
const MAX_CV_SAMPLES = 1_000_000;

export interface PentachoronCVOptions {
  /** Simplices sampled. Default 200 (the author's `cv_metric`); at most 10⁶. */
  samples?: number;
  /** Seed of the index sampler. Default 0, so the metric is reproducible. */
  seed?: number;
  /** An existing generator to draw from instead (its stream advances); takes precedence over `seed`. */
  rng?: Rng;
  /**
   * Only the first `pool` rows are eligible (spec §2.1: the first rows, not a random subset). Default 512;
   * `Infinity` for all rows.
   */
  pool?: number;
  /** Vertices per simplex. Default 5 (the pentachoron, k = 4); 3..8 give the multi-scale CVs. */
  vertices?: number;
  /** Fewer valid simplices than this gives `cv: NaN`. Default 10. */
  minValid?: number;
}

export interface PentachoronCVResult {
  /** std(vol) / (mean(vol) + 1e-8), unbiased std; NaN when fewer than `minValid` simplices were valid. */
  cv: number;
  /** Number of sampled simplices with V² > 1e-20. */
  valid: number;
  /** Number sampled. */
  total: number;
  /** Mean volume of the valid simplices. */
  meanVolume: number;
}

/** Reads the first `pool` rows of x as float64 (only those rows leave the backend). */
function readPool(
  op: string,
  x: tf.Tensor2D | MatrixLike,
  poolOption: number,
): { data: Float64Array; rows: number; dim: number } {
  let rows: number;
  let dim: number;
  let data: Float64Array;
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2) throw new ShapeError(op, 'x', '[N, D]', x.shape);
    [rows, dim] = x.shape as [number, number];
    const pool = Math.min(rows, poolOption);
    const slice = tf.slice(x, [0, 0], [pool, dim]);
    try {
      data = Float64Array.from(readTensorSync(op, 'x', slice, `use ${op}Async`));
    } finally {
      slice.dispose();
    }
    rows = pool;
  } else {
    const m = x instanceof Matrix ? x : Array.isArray(x) ? Matrix.fromArray(x, op, 'x') : null;
    if (!m) throw new InvalidArgumentError(op, 'x', 'must be a tf.Tensor2D, a Matrix or nested arrays');
    dim = m.cols;
    rows = Math.min(m.rows, poolOption);
    data = m.data.subarray(0, rows * dim);
  }
  assertFiniteData(op, 'x', data);
  return { data, rows, dim };
}

function resolveOptions(op: string, options: PentachoronCVOptions, defaults: { samples: number; minValid: number }) {
  const samples = assertInteger(op, 'samples', options.samples ?? defaults.samples, 2, MAX_CV_SAMPLES);
  const vertices = assertInteger(op, 'vertices', options.vertices ?? 5, 2);
  const pool = options.pool ?? 512;
  if (pool !== Infinity) assertInteger(op, 'pool', pool, vertices);
  const minValid = assertInteger(op, 'minValid', options.minValid ?? defaults.minValid, 2);
  if (options.rng !== undefined && typeof options.rng?.choose !== 'function') {
    throw new InvalidArgumentError(op, 'rng', 'must be an Rng from createRng()');
  }
  return { samples, vertices, pool, minValid };
}

/**
 * Pentachoron CV: the coefficient of variation of the volumes of random 4-simplices (5-point
 * subsets) of an embedding, GeoLIP's main geometric health metric (spec §2.1).
 *
 *     pool = min(N, 512); for s = 1..samples: 5 distinct rows of the first `pool`, uniformly
 *     V²ₛ from the Cayley–Menger determinant (float64, LU with pivoting); keep V²ₛ > 1e-20
 *     CV = std(√V²) / (mean(√V²) + 1e-8)   (unbiased std)
 *
 * Uniform points on S^15 give CV ≈ 0.20 and on S^127 ≈ 0.058 (spec §2.2); see {@link targetCV}.
 *
 * @param x - `[N, D]` embeddings (assumed unit rows; not normalized here), N ≥ `vertices`.
 * @returns `{ cv, valid, total, meanVolume }`.
 *
 * @throws {ShapeError} if `x` is not rank 2 or has fewer rows than `vertices` ("too few points").
 * @throws {NonFiniteError} if the pooled rows hold NaN/Inf. @throws {InvalidArgumentError} for bad options.
 *
 * @remarks Float64 on the CPU: only the first `pool` rows are read from the backend (`dataSync`;
 * use {@link pentachoronCVAsync} on GPU backends). Not differentiable: use {@link cvLoss} to train.
 * The author's code returns 0 when too few simplices are valid; this returns NaN so a
 * degenerate embedding is never mistaken for a perfectly regular one.
 *
 * @example
 * const { cv, valid, total } = pentachoronCV(sampleSphere(512, 16, { seed: 1 })); // cv ≈ 0.20, 200/200 valid
 */
export function pentachoronCV(x: tf.Tensor2D | MatrixLike, options: PentachoronCVOptions = {}): PentachoronCVResult {
  const op = 'pentachoronCV';
  const o = resolveOptions(op, options, { samples: 200, minValid: 10 });
  checkRows(op, x, o.vertices);
  const { data, rows, dim } = readPool(op, x, o.pool);
  return cvFromData(data, rows, dim, o, options.rng ?? createRng(options.seed ?? 0));
}

/** {@link pentachoronCV} reading tensor data asynchronously (no GPU stall). Same result. */
export async function pentachoronCVAsync(
  x: tf.Tensor2D | MatrixLike,
  options: PentachoronCVOptions = {},
): Promise<PentachoronCVResult> {
  const op = 'pentachoronCVAsync';
  if (!(x instanceof tf.Tensor)) return pentachoronCV(x, options);
  const o = resolveOptions(op, options, { samples: 200, minValid: 10 });
  checkRows(op, x, o.vertices);
  const [n, dim] = x.shape as [number, number];
  const rows = Math.min(n, o.pool);
  const slice = tf.slice(x, [0, 0], [rows, dim]);
  const data = Float64Array.from((await slice.data()) as Float32Array);
  slice.dispose();
  assertFiniteData(op, 'x', data);
  return cvFromData(data, rows, dim, o, options.rng ?? createRng(options.seed ?? 0));
}

function checkRows(op: string, x: tf.Tensor2D | MatrixLike, vertices: number): void {
  const shape =
    x instanceof tf.Tensor || x instanceof Matrix
      ? x.shape
      : Array.isArray(x)
        ? [x.length, (x[0] as number[] | undefined)?.length ?? 0]
        : null;
  if (!shape) throw new InvalidArgumentError(op, 'x', 'must be a tf.Tensor2D, a Matrix or nested arrays');
  if (shape.length !== 2) throw new ShapeError(op, 'x', '[N, D]', shape);
  if (shape[0]! < vertices) {
    throw new ShapeError(
      op,
      'x',
      `[N, D] with N >= ${vertices}`,
      shape,
      `too few points for a ${vertices - 1}-simplex`,
    );
  }
}

function cvFromData(
  data: Float64Array,
  rows: number,
  dim: number,
  o: { samples: number; vertices: number; minValid: number },
  rng: Rng,
): PentachoronCVResult {
  const { samples, vertices, minValid } = o;
  const idx = sampleSimplexIndices(rows, samples, vertices, rng);
  const c = cayleyMengerPrefactor(vertices - 1);
  const gathered = new Float64Array(vertices * dim);
  const work = new Float64Array((vertices + 1) ** 2);
  const v2 = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    for (let v = 0; v < vertices; v++) {
      const row = idx[s * vertices + v]!;
      gathered.set(data.subarray(row * dim, (row + 1) * dim), v * dim);
    }
    v2[s] = c * cmDeterminantAt(gathered, 0, vertices, dim, work);
  }
  return cvFromSquaredVolumes(v2, minValid);
}

/**
 * The index sets {@link pentachoronCV} (and {@link cvMultiScale}, {@link targetCV}, {@link cvLoss}) draw:
 * `samples` sets of `vertices` distinct rows of [0, pool), each uniform (`rng.choose`), in draw order.
 * Exported so a backend implementation (`@geolip/nn`'s `pentachoronCVOnDevice`) measures exactly the same
 * simplices as the float64 path for the same seed.
 *
 * @param pool - eligible rows (the first `pool` rows), ≥ `vertices`.
 * @param samples - number of simplices, ≥ 1.
 * @param vertices - points per simplex (k + 1), ≥ 1.
 * @param rng - the generator to draw from (its stream advances by `samples` calls of `choose`).
 * @returns `[samples · vertices]` row-major: simplex s is `indices[s·vertices … (s+1)·vertices − 1]`.
 *
 * @throws {InvalidArgumentError} for a non-integer or out-of-range count.
 *
 * @example
 * sampleSimplexIndices(512, 200, 5, createRng(0)); // Int32Array(1000), the simplices of pentachoronCV(x)
 */
export function sampleSimplexIndices(pool: number, samples: number, vertices: number, rng: Rng): Int32Array {
  const op = 'sampleSimplexIndices';
  assertInteger(op, 'vertices', vertices, 1);
  assertInteger(op, 'pool', pool, vertices);
  assertInteger(op, 'samples', samples, 1);
  if (typeof rng?.choose !== 'function') throw new InvalidArgumentError(op, 'rng', 'must be an Rng from createRng()');
  const idx = new Int32Array(samples * vertices);
  for (let s = 0; s < samples; s++) idx.set(rng.choose(pool, vertices), s * vertices);
  return idx;
}

/**
 * The statistic of {@link pentachoronCV} from squared volumes V²ₛ (one per sampled simplex): keeps the
 * simplices with V² > 1e-20 ({@link CM_VALID_THRESHOLD}), takes V = √V², and returns
 * `std(V) / (mean(V) + 1e-8)` with the unbiased std, in float64.
 *
 * @param squaredVolumes - `[S]` V² values (float32 or float64; NaN counts as invalid).
 * @param minValid - fewer valid simplices than this gives `cv: NaN`. Default 10 (≥ 2).
 * @returns `{ cv, valid, total: S, meanVolume }` as {@link pentachoronCV}.
 *
 * @example
 * cvFromSquaredVolumes([1, 1, 4, 4], 2); // V = 1, 1, 2, 2: mean 1.5, std 0.5774 → cv ≈ 0.3849
 */
export function cvFromSquaredVolumes(squaredVolumes: ArrayLike<number>, minValid = 10): PentachoronCVResult {
  assertInteger('cvFromSquaredVolumes', 'minValid', minValid, 2);
  const total = squaredVolumes.length;
  const vols: number[] = [];
  for (let s = 0; s < total; s++) {
    const v2 = squaredVolumes[s]!;
    if (v2 > CM_VALID_THRESHOLD) vols.push(Math.sqrt(v2));
  }
  const valid = vols.length;
  let mean = 0;
  for (const v of vols) mean += v;
  mean = valid ? mean / valid : NaN;
  if (valid < minValid) return { cv: NaN, valid, total, meanVolume: mean };
  let ss = 0;
  for (const v of vols) ss += (v - mean) ** 2;
  const std = Math.sqrt(ss / (valid - 1));
  return { cv: std / (mean + 1e-8), valid, total, meanVolume: mean };
}

export interface CvMultiScaleOptions extends Omit<PentachoronCVOptions, 'vertices' | 'samples'> {
  /** Vertex counts to measure. Default [3, 4, 5, 6, 7, 8] (the author's `cv_multi_scale`). */
  scales?: readonly number[];
  /** Simplices per scale. Default 100. */
  samples?: number;
}

/**
 * CV at several simplex sizes (spec §2.1 `cv_multi_scale`); the code comments call all scales in
 * [0.18, 0.25] healthy. A scale with fewer than `minValid` (default 10) valid simplices maps to `null`.
 *
 * @param x - `[N, D]` embeddings, N ≥ the largest scale.
 * @returns `{ [vertices]: cv | null }`.
 */
export function cvMultiScale(
  x: tf.Tensor2D | MatrixLike,
  options: CvMultiScaleOptions = {},
): Record<number, number | null> {
  const op = 'cvMultiScale';
  const scales = options.scales ?? [3, 4, 5, 6, 7, 8];
  if (!Array.isArray(scales) || scales.length === 0)
    throw new InvalidArgumentError(op, 'scales', 'must be a non-empty array of vertex counts');
  scales.forEach((s) => assertInteger(op, 'scales', s, 2));
  const maxV = Math.max(...scales);
  checkRows(op, x, maxV);
  const pool = options.pool ?? 512;
  const { data, rows, dim } = readPool(op, x, pool);
  const rng = options.rng ?? createRng(options.seed ?? 0);
  const out: Record<number, number | null> = {};
  for (const v of scales) {
    const o = resolveOptions(
      op,
      { ...options, vertices: v, samples: options.samples ?? 100 },
      { samples: 100, minValid: 10 },
    );
    const r = cvFromData(data, rows, dim, o, rng);
    out[v] = Number.isNaN(r.cv) ? null : r.cv;
  }
  return out;
}

export interface TargetCVOptions {
  /** Independent point clouds averaged, ≤ 10⁴. Default 20 (spec §2.3). */
  trials?: number;
  /** Simplices per trial, in [2, 10⁶] as for {@link pentachoronCV}. Default 200. */
  samples?: number;
  /** Default 0. */
  seed?: number;
  /** Vertices per simplex, ≤ min(n, 512) (the pool the simplices are drawn from). Default 5. */
  vertices?: number;
}

/** Most point clouds one `targetCV` call averages. */
const MAX_TARGET_CV_TRIALS = 10_000;
/** Most values (n·d) of one `targetCV` point cloud, as `sampleSphere`'s limit: 2³⁰. */
const MAX_TARGET_CV_ENTRIES = 2 ** 30;

/**
 * The CV of `n` uniformly random points on S^{d−1}: the natural target for {@link cvLoss}
 * (spec §2.3 `compute_target_cv`). Mean over `trials` of {@link pentachoronCV}, float64 end to end,
 * skipping trials with too few valid simplices.
 *
 * Measured (`node examples/geometry-demo.mjs`): d = 16 → ≈ 0.20, d = 128 → ≈ 0.058.
 *
 * @param n - points per trial (≥ vertices, n·d ≤ 2³⁰). @param d - ambient dimension D (≥ 1).
 * @returns the mean CV (NaN if no trial had enough valid simplices, e.g. d < 4 for pentachora).
 * @throws {InvalidArgumentError} naming the argument, before any work: `samples` outside [2, 10⁶] (as
 *   {@link pentachoronCV}), `trials` outside [1, 10⁴], `vertices` outside [2, min(n, 512)], or n·d > 2³⁰.
 */
export function targetCV(n: number, d: number, options: TargetCVOptions = {}): number {
  const op = 'targetCV';
  const trials = assertInteger(op, 'trials', options.trials ?? 20, 1, MAX_TARGET_CV_TRIALS);
  const vertices = assertInteger(op, 'vertices', options.vertices ?? 5, 2, 512);
  assertInteger(op, 'n', n, vertices);
  assertInteger(op, 'd', d, 1);
  if (n * d > MAX_TARGET_CV_ENTRIES)
    throw new InvalidArgumentError(
      op,
      'n',
      `× d = ${n} × ${d} = ${n * d} values per point cloud exceeds the limit of ${MAX_TARGET_CV_ENTRIES}`,
    );
  const samples = assertInteger(op, 'samples', options.samples ?? 200, 2, MAX_CV_SAMPLES);
  const rng = createRng(options.seed ?? 0);
  let sum = 0;
  let count = 0;
  for (let t = 0; t < trials; t++) {
    const data = sampleSphereData(n, d, rng);
    const r = cvFromData(data, Math.min(n, 512), d, { samples, vertices, minValid: 10 }, rng);
    if (Number.isFinite(r.cv) && r.cv !== 0) {
      sum += r.cv;
      count++;
    }
  }
  return count ? sum / count : NaN;
}

export interface CvLossOptions {
  /** Simplices sampled per call. Default 64 (the author's `cv_loss`). */
  samples?: number;
  /**
   * Seed for this call's index sampler. Default: draw from a module-level stream seeded once (reproducible per
   * process, different each call).
   */
  seed?: number;
  /** An existing generator to draw indices from (takes precedence over `seed`). */
  rng?: Rng;
  /** Only the first `pool` rows are eligible. Default 512. */
  pool?: number;
  /** Fewer valid simplices than this gives a loss of 0 (no gradient). Default 5. */
  minValid?: number;
}

let defaultLossRng: Rng | undefined;

/**
 * Differentiable CV loss (spec §2.1): L = (CV − target)², with CV computed from sampled
 * pentachora on the active backend so gradients flow through the volumes to `x`.
 *
 * Indices are sampled on the CPU (seeded); the rows are selected with a one-hot matmul (gather's
 * gradient needs UnsortedSegmentSum, which the wasm backend lacks); V² uses the Gram-determinant
 * form; invalid simplices (V² ≤ 1e-20) are masked out before the square root.
 *
 * @param x - `[N, D]` float32 embeddings (unit rows), N ≥ 5.
 * @param target - the CV to pull toward. Default 0.22 (geolip-core's default; see {@link targetCV}).
 * @returns scalar loss; 0 when fewer than `minValid` simplices are valid.
 *
 * @throws {ShapeError} if `x` is not `[N, D]` with N ≥ 5.
 * @throws {InvalidArgumentError} for bad options or a non-float32 `x`.
 *
 * @example
 * const g = tf.grad((x) => cvLoss(x as tf.Tensor2D, 0.2, { seed: 3 }))(embeddings); // [N, D]
 */
export function cvLoss(x: tf.Tensor2D, target = 0.22, options: CvLossOptions = {}): tf.Scalar {
  const op = 'cvLoss';
  if (!(x instanceof tf.Tensor)) throw new InvalidArgumentError(op, 'x', 'must be a tf.Tensor2D');
  if (x.dtype !== 'float32') throw new InvalidArgumentError(op, 'x', `must have dtype float32, got ${x.dtype}`);
  checkRows(op, x, 5);
  assertNumber(op, 'target', target);
  const o = resolveOptions(op, { ...options, vertices: 5 }, { samples: 64, minValid: 5 });
  const rng =
    options.rng ?? (options.seed !== undefined ? createRng(options.seed) : (defaultLossRng ??= createRng(0x9e3779b9)));
  const [n, dim] = x.shape;
  const pool = Math.min(n, o.pool);
  const idx = sampleSimplexIndices(pool, o.samples, 5, rng);
  return tf.tidy(() => {
    const rows = pool === n ? x : tf.slice(x, [0, 0], [pool, dim]);
    const select = tf.oneHot(tf.tensor1d(idx, 'int32'), pool); // [S·5, pool]
    const pts = tf.reshape(tf.matMul(tf.cast(select, 'float32'), rows), [o.samples, 5, dim]);
    const v2 = simplexVolumeSquared(pts);
    const mask = tf.cast(
      constantMask(v2, (v) => tf.greater(v, CM_VALID_THRESHOLD)),
      'float32',
    );
    const vols = safeSqrt(v2, CM_VALID_THRESHOLD);
    const count = tf.sum(mask);
    const safeCount = tf.maximum(count, 2);
    const mean = tf.div(tf.sum(vols), safeCount);
    const variance = tf.div(tf.sum(tf.mul(mask, tf.square(tf.sub(vols, mean)))), tf.sub(safeCount, 1));
    const std = safeSqrt(variance, 0);
    const cv = tf.div(std, tf.add(mean, 1e-8));
    const loss = tf.square(tf.sub(cv, target));
    return tf.where(
      constantMask(count, (c) => tf.greaterEqual(c, o.minValid)),
      loss,
      tf.zerosLike(loss),
    ) as tf.Scalar;
  });
}
