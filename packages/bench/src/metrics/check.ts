import { InvalidArgumentError, NonFiniteError, ShapeError } from '@geolip/geometry';

/** Numeric vector input accepted by the metrics (read as float64). */
export type NumericArray = ArrayLike<number>;

/** Throws ShapeError naming `bName` unless `b` has the same length as `a`. */
export function checkSameLength(op: string, aName: string, a: NumericArray, bName: string, b: NumericArray): void {
  if (a.length !== b.length) throw new ShapeError(op, bName, `[N=${a.length}] (same length as '${aName}')`, [b.length]);
}

/** Throws NonFiniteError naming the argument if any entry is NaN or ±Infinity. */
export function checkFinite(op: string, name: string, x: NumericArray): void {
  let count = 0;
  let first = -1;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count > 0) throw new NonFiniteError(op, name, count, first);
}

/** Throws InvalidArgumentError unless every entry is exactly 0 or 1; returns the positive count. */
export function checkLabels(op: string, name: string, y: NumericArray): number {
  let pos = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v === 1) pos++;
    else if (v !== 0) throw new InvalidArgumentError(op, name, `must contain only 0 and 1, got ${v} at index ${i}`);
  }
  return pos;
}

/** Throws InvalidArgumentError if `x` has fewer than `min` entries. */
export function checkMinLength(op: string, name: string, x: NumericArray, min: number): void {
  if (x.length < min) throw new InvalidArgumentError(op, name, `must have at least ${min} entries, got ${x.length}`);
}

/** Indices 0..n-1 sorted by descending score (stable: ties keep index order). */
export function argsortDesc(scores: NumericArray): Uint32Array {
  const idx = new Uint32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((i, j) => scores[j]! - scores[i]! || i - j);
}
