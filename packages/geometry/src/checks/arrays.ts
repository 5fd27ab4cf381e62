import { InvalidArgumentError, ShapeError } from '../errors.js';

/** Throws {@link ShapeError} naming `bName` unless `b` has the same length as `a`. */
export function assertSameLength(
  op: string,
  aName: string,
  a: ArrayLike<number>,
  bName: string,
  b: ArrayLike<number>,
): void {
  if (a.length !== b.length) throw new ShapeError(op, bName, `[N=${a.length}] (same length as '${aName}')`, [b.length]);
}

/** Throws {@link InvalidArgumentError} unless every entry of `y` is exactly 0 or 1; returns the count of 1s. */
export function assertBinaryLabels(op: string, name: string, y: ArrayLike<number>): number {
  let pos = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v === 1) pos++;
    else if (v !== 0) throw new InvalidArgumentError(op, name, `must contain only 0 and 1, got ${v} at index ${i}`);
  }
  return pos;
}

/** Indices 0..n−1 sorted by descending score (stable: ties keep index order). */
export function argsortDesc(scores: ArrayLike<number>): Uint32Array {
  const idx = new Uint32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((i, j) => scores[j]! - scores[i]! || i - j);
}
