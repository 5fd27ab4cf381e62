import * as tf from '@tensorflow/tfjs-core';
import {
  CM_VALID_THRESHOLD,
  InvalidArgumentError,
  ShapeError,
  createRng,
  cvFromSquaredVolumes,
  pentachoronCVAsync,
  sampleSimplexIndices,
  simplexVolumeSquared,
} from '@geolip/geometry';
import type { PentachoronCVOptions, PentachoronCVResult } from '@geolip/geometry';
import { assertFloatTensor, assertInteger, assertNumber, describeValue } from '@geolip/geometry/checks';

import { hasKernel } from '../kernels/index.js';
import { KERNELS } from '../kernels/names.js';
import { SIMPLEX_MAX_VERTICES } from '../kernels/webgpu/programs.js';

/** Simplices as rows of a points matrix: an int32 `[S, k+1]` tensor or `S` arrays of `k + 1` row indices. */
export type SimplexIndices = tf.Tensor2D | readonly (readonly number[])[];

export interface SimplexVolumesOptions {
  /** Return the squared volumes V² (≥ 0 on the kernel path; noise-level values for degenerate simplices). */
  squared?: boolean;
  /** V² at or below this gives volume 0 (not used with `squared`). Default 1e-20, as `@geolip/geometry`. */
  threshold?: number;
}

function checkPoints(op: string, points: unknown): tf.Tensor2D {
  const p = assertFloatTensor(op, 'points', points, 2);
  if (p.rank !== 2) throw new ShapeError(op, 'points', '[N, D]', p.shape);
  return p as tf.Tensor2D;
}

/** The simplices as an int32 `[S, V]` tensor (a new one for arrays, after a range check) and whether it is new. */
function toIndexTensor(op: string, simplices: unknown, rows: number): { t: tf.Tensor2D; owned: boolean } {
  if (simplices instanceof tf.Tensor) {
    if (simplices.rank !== 2) throw new ShapeError(op, 'simplices', '[S, k+1]', simplices.shape);
    if (simplices.dtype !== 'int32') {
      throw new InvalidArgumentError(op, 'simplices', `must have dtype int32, got ${simplices.dtype}`);
    }
    return { t: simplices as tf.Tensor2D, owned: false };
  }
  if (!Array.isArray(simplices)) {
    throw new InvalidArgumentError(
      op,
      'simplices',
      `must be an int32 tf.Tensor2D or arrays of row indices, got ${describeValue(simplices)}`,
    );
  }
  const count = simplices.length;
  const vertices = Array.isArray(simplices[0]) ? (simplices[0] as unknown[]).length : 0;
  const flat = new Int32Array(count * vertices);
  simplices.forEach((s: unknown, i) => {
    if (!Array.isArray(s) || s.length !== vertices) {
      throw new ShapeError(op, 'simplices', `[S, ${vertices}]`, [count, Array.isArray(s) ? s.length : 0], `row ${i}`);
    }
    s.forEach((r: unknown, v) => {
      flat[i * vertices + v] = assertInteger(op, `simplices[${i}][${v}]`, r, 0, rows - 1);
    });
  });
  return { t: tf.tensor2d(flat, [count, vertices], 'int32'), owned: true };
}

/** Backends whose tensors live in host memory: reading the pooled rows costs no GPU round trip there. */
const HOST_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

const kernelFor = (vertices: number): boolean =>
  vertices <= SIMPLEX_MAX_VERTICES && hasKernel(KERNELS.simplexVolumeSquared);

/**
 * Squared volumes through the `GeolipSimplexVolumeSquared` kernel where the backend has it (webgpu, or the
 * reference kernel in tests) and k + 1 ≤ {@link SIMPLEX_MAX_VERTICES}; else the composed ops.
 */
function squaredVolumes(points: tf.Tensor2D, simplices: tf.Tensor2D): tf.Tensor1D {
  if (kernelFor(simplices.shape[1])) {
    return tf.engine().runKernel(KERNELS.simplexVolumeSquared, { points, simplices }) as tf.Tensor1D;
  }
  return composedSimplexVolumeSquared(points, simplices);
}

/**
 * The composed tfjs ops (the reference the kernel is tested against, and the path on backends without it): gather
 * the rows, then `@geolip/geometry`'s tensor `simplexVolumeSquared` (det of the edge Gram matrix by batched
 * elimination, float32). A simplex with a row index outside [0, N) gives NaN, as the kernel.
 *
 * @param points - `[N, D]` float32. @param simplices - `[S, k+1]` int32 row indices.
 * @returns V² `[S]`.
 */
export function composedSimplexVolumeSquared(points: tf.Tensor2D, simplices: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, d] = points.shape;
    const [s, v] = simplices.shape;
    const flat = tf.reshape(simplices, [s * v]);
    const inRange = tf.logicalAnd(tf.greaterEqual(flat, 0), tf.less(flat, n));
    const rowsOk = tf.all(tf.reshape(inRange, [s, v]), 1);
    const pts = tf.reshape(tf.gather(points, tf.where(inRange, flat, tf.zerosLike(flat))), [s, v, d]);
    const v2 = simplexVolumeSquared(pts) as tf.Tensor1D;
    return tf.where(rowsOk, v2, tf.fill([s], NaN)) as tf.Tensor1D;
  });
}

/**
 * k-volumes of simplices whose vertices are rows of `points`, batched on the active backend (float32).
 *
 *     E = [p₁ − p₀, …, p_k − p₀] (k × D),  V² = det(E Eᵀ) / (k!)²   (= the Cayley–Menger V², spec §1.2)
 *     V = √V² where V² > threshold, else 0
 *
 * On webgpu (after `initBackend` from `@geolip/nn/backend`) this is one dispatch: one 64-thread workgroup per
 * simplex gathers its rows, sums the Gram entries over D and takes det(G) by LDLᵀ with diagonal pivoting in
 * registers (k + 1 ≤ 10; larger simplices, other backends and `GEOLIP_WEBGPU_FUSED=0` take the composed ops:
 * `tf.gather` and `@geolip/geometry`'s batched Gram elimination). Error against the float64 Cayley–Menger path:
 * see the README ("Geometry on the GPU").
 *
 * @param points - `[N, D]` float32.
 * @param simplices - `[S, k+1]` row indices: an int32 tensor (not read back: an index outside [0, N) gives NaN for
 *   that simplex), or nested arrays (range-checked here). k ≥ 1.
 * @returns `[S]` float32 volumes (or V² with `squared`). NaN where a used row holds NaN/Inf.
 *
 * @throws {ShapeError} if `points` is not `[N, D]` or `simplices` is not `[S, k+1]` with k ≥ 1.
 * @throws {InvalidArgumentError} for a non-float32 `points`, a non-int32 `simplices` tensor, an index out of
 *   range in arrays, or a bad option.
 *
 * @remarks Not differentiable on the kernel path (a metric): train with `cvLoss` from `@geolip/geometry`.
 *
 * @example
 * const pts = tf.tensor2d([[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
 * simplexVolumes(pts, [[0, 1, 2, 3, 4]]); // [1/24]: the corner 4-simplex
 */
export function simplexVolumes(
  points: tf.Tensor2D,
  simplices: SimplexIndices,
  options: SimplexVolumesOptions = {},
): tf.Tensor1D {
  const op = 'simplexVolumes';
  const p = checkPoints(op, points);
  const threshold = assertNumber(op, 'threshold', options.threshold ?? CM_VALID_THRESHOLD, 0);
  const { t, owned } = toIndexTensor(op, simplices, p.shape[0]);
  try {
    if (t.shape[1] < 2) {
      throw new ShapeError(op, 'simplices', '[S, k+1] with k+1 >= 2', t.shape, 'too few points for a simplex');
    }
    return tf.tidy(() => {
      const v2 = squaredVolumes(p, t);
      if (options.squared) return v2;
      const vol = tf.sqrt(tf.maximum(v2, threshold));
      return tf.where(tf.greater(v2, threshold), vol, tf.where(tf.isNaN(v2), v2, tf.zerosLike(v2))) as tf.Tensor1D;
    });
  } finally {
    if (owned) t.dispose();
  }
}

/**
 * `@geolip/geometry`'s `pentachoronCVAsync` with the volumes computed on the
 * active backend: the same sampled simplices (`sampleSimplexIndices` with the same `seed`/`rng`, `pool` and
 * `samples`), the volumes by {@link simplexVolumes} in float32 next to the points (only the S volumes come back,
 * never the points), then the same statistic in float64 (`cvFromSquaredVolumes`: V² > 1e-20 valid, unbiased std,
 * `std / (mean + 1e-8)`, NaN below `minValid`).
 *
 * Paths: the kernel where the backend has it (webgpu after `initBackend`); on host-memory backends without it (cpu,
 * wasm, tfjs-node) `pentachoronCVAsync` itself (float64, and faster there than batched float32 tfjs ops); elsewhere
 * (webgl, webgpu with `GEOLIP_WEBGPU_FUSED=0`) the composed ops of {@link composedSimplexVolumeSquared}.
 *
 * @param points - `[N, D]` float32 embeddings (unit rows assumed, as geometry's), N ≥ `vertices`.
 * @param options - exactly `pentachoronCV`'s (`samples` 200, at most 10⁶; `seed` 0, `rng`, `pool` 512, `vertices` 5,
 *   `minValid` 10).
 * @returns `{ cv, valid, total, meanVolume }`. Relative error of `cv` against the float64 path for the same
 *   simplices: below 1e-5 measured on S^127 (README), asserted < 1e-4 in the tests.
 *
 * @throws {ShapeError} if `points` is not `[N, D]` with N ≥ `vertices`.
 * @throws {InvalidArgumentError} for bad options, a non-float32 `points`, or NaN/Inf in a row used by a sampled
 *   simplex (on the float64 path: `NonFiniteError` for NaN/Inf in any pooled row, as `pentachoronCVAsync`).
 *
 * @example
 * const x = sampleSphere(100_000, 128, { seed: 1 });
 * const { cv } = await pentachoronCVOnDevice(x, { samples: 1000, pool: Infinity, seed: 2 }); // ≈ 0.058
 */
export async function pentachoronCVOnDevice(
  points: tf.Tensor2D,
  options: PentachoronCVOptions = {},
): Promise<PentachoronCVResult> {
  const op = 'pentachoronCVOnDevice';
  const p = checkPoints(op, points);
  const samples = assertInteger(op, 'samples', options.samples ?? 200, 2, 1_000_000);
  const vertices = assertInteger(op, 'vertices', options.vertices ?? 5, 2);
  const pool = options.pool ?? 512;
  if (pool !== Infinity) assertInteger(op, 'pool', pool, vertices);
  const minValid = assertInteger(op, 'minValid', options.minValid ?? 10, 2);
  if (options.rng !== undefined && typeof options.rng?.choose !== 'function') {
    throw new InvalidArgumentError(op, 'rng', 'must be an Rng from createRng()');
  }
  const [n] = p.shape;
  if (n < vertices) {
    throw new ShapeError(
      op,
      'points',
      `[N, D] with N >= ${vertices}`,
      p.shape,
      `too few points for a ${vertices - 1}-simplex`,
    );
  }
  if (!kernelFor(vertices) && HOST_BACKENDS.has(tf.getBackend())) return pentachoronCVAsync(p, options);
  const rng = options.rng ?? createRng(options.seed ?? 0);
  const idx = sampleSimplexIndices(Math.min(n, pool), samples, vertices, rng);
  const v2 = tf.tidy(() => squaredVolumes(p, tf.tensor2d(idx, [samples, vertices], 'int32')));
  let data: Float32Array;
  try {
    data = (await v2.data()) as Float32Array;
  } finally {
    v2.dispose();
  }
  let bad = 0;
  let first = -1;
  for (let s = 0; s < samples; s++) {
    if (!Number.isFinite(data[s]!)) {
      if (first < 0) first = s;
      bad++;
    }
  }
  if (bad > 0) {
    const rows = Array.from(idx.subarray(first * vertices, (first + 1) * vertices)).join(', ');
    throw new InvalidArgumentError(
      op,
      'points',
      `must be finite: ${bad} of ${samples} sampled simplices have a NaN/Inf volume ` +
        `(first: simplex ${first}, rows ${rows})`,
    );
  }
  return cvFromSquaredVolumes(data, minValid);
}
