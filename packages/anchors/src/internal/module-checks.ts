/**
 * Small argument checks shared by Constellation, Patchwork, the anchor losses and serialization
 * (internal; not exported from the package). They read metadata only, never tensor data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { describeValue as describe } from '@geolip/geometry/checks';

// Shared with @geolip/geometry so every package words these errors the same way.
export {
  assertChoice as checkChoice,
  assertInteger as checkInteger,
  describeValue as describe,
  readTensorSync as readSync,
} from '@geolip/geometry/checks';

/** Throws unless `value` is a finite number in [min, max] (`open` excludes the lower bound). */
export function checkNumber(
  op: string,
  argument: string,
  value: unknown,
  min = -Infinity,
  max = Infinity,
  open = false,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (open && value === min)) {
    const range = `${open ? '(' : '['}${min}, ${max}]`;
    throw new InvalidArgumentError(op, argument, `must be a finite number in ${range}, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a float32 tensor of rank 2 whose last size is `cols` (when given):
 * `op: 'x' must have shape [B, D=16], got [4, 8]`. Returns `[rows, cols]`.
 */
export function checkMatrixTensor(
  op: string,
  argument: string,
  value: unknown,
  rowLetter: string,
  colLetter: string,
  cols?: number,
): [number, number] {
  if (!(value instanceof tf.Tensor)) {
    throw new InvalidArgumentError(op, argument, `must be a tf.Tensor, got ${describe(value)}`);
  }
  const expected = `[${rowLetter}, ${colLetter}${cols === undefined ? '' : `=${cols}`}]`;
  if (value.rank !== 2 || (cols !== undefined && value.shape[1] !== cols)) {
    throw new ShapeError(op, argument, expected, value.shape);
  }
  if (value.dtype !== 'float32') {
    throw new InvalidArgumentError(op, argument, `must have dtype float32, got ${value.dtype}`);
  }
  return value.shape as [number, number];
}
