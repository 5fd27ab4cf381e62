/** Internal: the labelled feature rows the probes take, their checks and the row arithmetic they share. */
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';

/** Feature rows with their class labels. */
export interface LabeledFeatures {
  /** `[n·dim]` row-major features. */
  x: Float32Array;
  /** `[n]` class indices in [0, classes). */
  labels: ArrayLike<number>;
}

/** Checks `dim` and `classes` (positive integers). */
export function checkSizes(op: string, dim: number, classes: number): void {
  for (const [name, v] of [
    ['dim', dim],
    ['classes', classes],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new InvalidArgumentError(op, `options.${name}`, `must be a positive integer, got ${String(v)}`);
  }
}

/**
 * Checks one split: `x` holds n whole rows of `dim`, there are n labels and each is an integer in [0, classes).
 * @returns n.
 */
export function checkSplit(op: string, name: string, split: LabeledFeatures, dim: number, classes: number): number {
  const n = split.labels.length;
  if (split.x.length !== n * dim)
    throw new ShapeError(op, `${name}.x`, `[${n * dim}]`, [split.x.length], `${n} labels, rows of dim = ${dim}`);
  for (let i = 0; i < n; i++) {
    const y = split.labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes)
      throw new InvalidArgumentError(op, `${name}.labels`, `[${i}] must be an integer in [0, ${classes}), got ${y}`);
  }
  return n;
}

/** Checks that `x` holds whole rows of `dim`; returns the row count. */
export function checkRows(op: string, name: string, x: Float32Array, dim: number): number {
  if (x.length % dim !== 0) throw new ShapeError(op, name, `[n·${dim}]`, [x.length], `whole rows of dim = ${dim}`);
  return x.length / dim;
}

/** Rows scaled to unit L2 norm (a zero row stays zero: divided by max(‖x‖, 1e-12)). */
export function unitRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length; r += dim) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[r + j]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
    for (let j = 0; j < dim; j++) out[r + j] = x[r + j]! * inv;
  }
  return out;
}

/** Share of `pred[i] === labels[i]`. */
export function accuracyOf(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) hits++;
  return labels.length === 0 ? NaN : hits / labels.length;
}
