import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';

import { BINDING_CONSTANT } from './constants.js';
import { type AnchorSource, checkAnchorSource, checkNumber, describeValue, rawAnchors, readSync } from './internal.js';

/** Clamp of the cosine before arccos (spec §4.5): keeps the angle finite and away from 0 and π exactly. */
const COS_CLAMP = 1 - 1e-7;

/**
 * Per-anchor drift: the angle between each anchor and its home position (spec §4.5, the relay
 * layers' `drift`), in radians, computed in float64.
 *
 *     ĥ_a = h_a / max(‖h_a‖, 1e-12),   â_a = c_a / max(‖c_a‖, 1e-12)     (float64)
 *     drift_a = arccos(clamp(⟨ĥ_a, â_a⟩, −1 + 1e-7, 1 − 1e-7))
 *
 * @param home - `[A, D]` home anchors (the initial positions; raw or unit rows), or an object with
 *   `normalizedAnchors()`.
 * @param current - `[A, D]` current anchors, paired row by row with `home`, or an object with
 *   `normalizedAnchors()`.
 * @returns `[A]` drift per anchor in radians, in [arccos(1 − 1e-7), π − arccos(1 − 1e-7)] ≈
 *   [4.47e-4, π − 4.47e-4], as a `Float64Array`.
 *
 * @throws {ShapeError} If `home` is not rank 2, or `current` is not `[A, D]` with home's A and D.
 * @throws {InvalidArgumentError} If an argument is not a float32 tensor or anchor source.
 * @throws {BackendError} If the backend cannot read synchronously: use {@link anchorDriftAsync}.
 *
 * @remarks
 * - The clamp is the Python code's: an anchor that has not moved reads ≈ 4.47e-4 rad, not 0
 *   (float32 storage alone limits resolution to ~3e-4 rad near 0 with this formula).
 * - Both tensors are read to the CPU (`dataSync`) and everything after is float64. O(A·D).
 * - A NaN/±Inf entry makes that anchor's drift NaN (the others are unaffected); a zero row
 *   has cosine 0 with everything, so its drift is π/2. Nothing throws for values.
 * - Not differentiable (a measurement, never a loss). Leaks no tensors.
 *
 * @example
 * const home = tf.tensor2d([[1, 0], [0, 1]]);
 * const current = tf.tensor2d([[Math.cos(0.3), Math.sin(0.3)], [0, 2]]);
 * anchorDrift(home, current); // Float64Array [≈0.3, ≈0.000447]
 *
 * @see {@link driftSummary} for the mean / median / max and the fraction near 0.29154.
 */
export function anchorDrift(home: AnchorSource, current: AnchorSource): Float64Array {
  const op = 'anchorDrift';
  const [h, c, a, d] = resolve(op, home, current);
  try {
    const hint = 'use anchorDriftAsync';
    return driftFromData(readSync(op, 'home', h, hint), readSync(op, 'current', c, hint), a, d);
  } finally {
    h.dispose();
    c.dispose();
  }
}

/**
 * {@link anchorDrift} reading the tensors with `await tensor.data()` (works on webgpu in Node).
 * @param home - `[A, D]` home anchors or an anchor source.
 * @param current - `[A, D]` current anchors or an anchor source.
 * @returns `[A]` drift per anchor in radians (`Float64Array`).
 * @throws {ShapeError} If the shapes disagree (see {@link anchorDrift}).
 * @example
 * const drift = await anchorDriftAsync(home, current);
 */
export async function anchorDriftAsync(home: AnchorSource, current: AnchorSource): Promise<Float64Array> {
  const [h, c, a, d] = resolve('anchorDriftAsync', home, current);
  try {
    const [hd, cd] = await Promise.all([h.data(), c.data()]);
    return driftFromData(hd, cd, a, d);
  } finally {
    h.dispose();
    c.dispose();
  }
}

/** Owned clones of both anchor tensors (a fresh `normalizedAnchors()` result is disposed, a cached one kept). */
function resolve(op: string, home: AnchorSource, current: AnchorSource): [tf.Tensor2D, tf.Tensor2D, number, number] {
  checkAnchorSource(op, home, { argument: 'home' });
  const h = tf.tidy(() => tf.clone(rawAnchors(op, home, { argument: 'home' })));
  const [a, d] = h.shape;
  try {
    const c = tf.tidy(() => {
      const raw = rawAnchors(op, current, { argument: 'current', dim: d });
      if (raw.shape[0] !== a) throw new ShapeError(op, 'current', `[A=${a}, D=${d}]`, raw.shape);
      return tf.clone(raw);
    });
    return [h, c, a, d];
  } catch (e) {
    h.dispose();
    throw e;
  }
}

function driftFromData(h: ArrayLike<number>, c: ArrayLike<number>, a: number, d: number): Float64Array {
  const out = new Float64Array(a);
  for (let i = 0; i < a; i++) {
    let hh = 0;
    let cc = 0;
    let hc = 0;
    for (let j = i * d; j < (i + 1) * d; j++) {
      const x = h[j]!;
      const y = c[j]!;
      hh += x * x;
      cc += y * y;
      hc += x * y;
    }
    const cos = hc / (Math.max(Math.sqrt(hh), 1e-12) * Math.max(Math.sqrt(cc), 1e-12));
    // Math.min/max pass NaN through, so a non-finite row stays NaN.
    out[i] = Math.acos(Math.min(COS_CLAMP, Math.max(-COS_CLAMP, cos)));
  }
  return out;
}

/** Options of {@link driftSummary}. */
export interface DriftSummaryOptions {
  /** Centre of the "near" window, radians. Default {@link BINDING_CONSTANT} = 0.29154. */
  binding?: number;
  /** Half-width of the window: near means |drift − binding| < window (strict). Default 0.05. */
  window?: number;
}

/** Result of {@link driftSummary}. All statistics are over the finite drifts only. */
export interface DriftSummary {
  /** Number of finite drifts summarized. */
  count: number;
  /** Number of NaN/±Inf drifts left out. */
  nonFinite: number;
  /** Mean drift, radians (NaN when `count` is 0). */
  mean: number;
  /** Median drift, radians (mean of the two middle values for an even count). */
  median: number;
  /** Largest drift, radians. */
  max: number;
  /** Fraction in [0, 1] of the finite drifts with |drift − binding| < window. */
  nearBinding: number;
}

/**
 * Summary of per-anchor drifts: mean, median, max and the fraction of anchors near the binding
 * constant 0.29154 (spec §4.5; the diffusion card reports 46% within ±0.05).
 *
 *     nearBinding = #{a : |drift_a − binding| < window} / #{a : drift_a finite}
 *
 * @param drift - `[A]` drifts in radians, e.g. from {@link anchorDrift} (any array-like of numbers).
 * @param options - `binding` (default 0.29154) and `window` (default 0.05).
 * @returns `{ count, nonFinite, mean, median, max, nearBinding }`.
 *
 * @throws {InvalidArgumentError} If `drift` is not array-like, `binding` is not finite, or `window`
 *   is not a finite number > 0.
 *
 * @remarks NaN/±Inf drifts are counted in `nonFinite` and left out of every statistic. An empty
 * (or all non-finite) input gives NaN statistics. Pure float64 arithmetic, O(A log A).
 *
 * @example
 * driftSummary([0.25, 0.3, 0.33, 0.5]);
 * // { count: 4, nonFinite: 0, mean: 0.345, median: 0.315, max: 0.5, nearBinding: 0.75 }
 */
export function driftSummary(drift: ArrayLike<number>, options: DriftSummaryOptions = {}): DriftSummary {
  const op = 'driftSummary';
  if (drift === null || typeof drift !== 'object' || typeof drift.length !== 'number') {
    throw new InvalidArgumentError(op, 'drift', `must be an array of numbers, got ${describeValue(drift)}`);
  }
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(op, 'options', `must be an object, got ${describeValue(options)}`);
  const binding = checkNumber(op, 'binding', options.binding ?? BINDING_CONSTANT, -Infinity);
  const window = checkNumber(op, 'window', options.window ?? 0.05, 0, Infinity, true);
  const finite: number[] = [];
  let nonFinite = 0;
  for (let i = 0; i < drift.length; i++) {
    const v = drift[i];
    if (typeof v === 'number' && Number.isFinite(v)) finite.push(v);
    else nonFinite++;
  }
  const count = finite.length;
  if (count === 0) return { count, nonFinite, mean: NaN, median: NaN, max: NaN, nearBinding: NaN };
  const sorted = Float64Array.from(finite).sort();
  let sum = 0;
  let near = 0;
  for (const v of sorted) {
    sum += v;
    if (Math.abs(v - binding) < window) near++;
  }
  const mid = count >> 1;
  const median = count % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { count, nonFinite, mean: sum / count, median, max: sorted[count - 1]!, nearBinding: near / count };
}
