import * as tf from '@tensorflow/tfjs-core';

import { InvalidArgumentError, ShapeError } from '../errors.js';

/** Throws unless `value` is a tfjs tensor of at least `minRank` with a float dtype. */
export function assertFloatTensor(op: string, argument: string, value: unknown, minRank = 1): tf.Tensor {
  if (!(value instanceof tf.Tensor)) {
    throw new InvalidArgumentError(
      op,
      argument,
      `must be a tf.Tensor, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  if (value.rank < minRank) {
    throw new ShapeError(op, argument, minRank === 1 ? '[..., D] (rank >= 1)' : `rank >= ${minRank}`, value.shape);
  }
  if (value.dtype !== 'float32') {
    throw new InvalidArgumentError(op, argument, `must have dtype float32, got ${value.dtype}`);
  }
  return value;
}

/** Throws ShapeError unless `b` has exactly the shape of `a`. */
export function assertSameShape(op: string, nameA: string, a: tf.Tensor, nameB: string, b: tf.Tensor): void {
  const same = a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
  if (!same) throw new ShapeError(op, nameB, `[${a.shape.join(', ')}] (the shape of '${nameA}')`, b.shape);
}
