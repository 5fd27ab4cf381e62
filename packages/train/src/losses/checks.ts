/**
 * Argument checks shared by the loss functions (internal; not exported from the package).
 * They read metadata only, except {@link readLabels}, which reads an int label tensor to the CPU.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { assertFloatTensor, bindShapes, readTensorSync } from '@geolip/geometry/checks';

export { assertFloatTensor, assertNumber, bindShapes } from '@geolip/geometry/checks';

/** Labels accepted by the losses that group rows by class. */
export type LabelsLike = tf.Tensor1D | readonly number[] | Int32Array;

/** Checks a float32 `[B, D]`-like tensor against a letter pattern and returns its shape. */
export function checkFloat(
  op: string,
  shapes: ReturnType<typeof bindShapes>,
  argument: string,
  value: unknown,
  pattern: readonly (string | number)[],
): readonly number[] {
  const t = assertFloatTensor(op, argument, value, 1);
  return shapes.check(argument, t, pattern);
}

/**
 * Reads integer labels of length `b` to the CPU (a tensor is read with `dataSync`). Throws
 * ShapeError for a wrong length and InvalidArgumentError for non-integers or values outside [0, max).
 */
export function readLabels(op: string, argument: string, labels: unknown, b: number, max = Infinity): Int32Array {
  let values: ArrayLike<number>;
  let shape: readonly number[];
  if (labels instanceof tf.Tensor) {
    if (labels.rank !== 1) throw new ShapeError(op, argument, `[B=${b}]`, labels.shape);
    if (labels.dtype !== 'int32' && labels.dtype !== 'float32') {
      throw new InvalidArgumentError(op, argument, `must have dtype int32, got ${labels.dtype}`);
    }
    values = readTensorSync(op, argument, labels);
    shape = labels.shape;
  } else if (Array.isArray(labels) || labels instanceof Int32Array) {
    values = labels as ArrayLike<number>;
    shape = [values.length];
  } else {
    throw new InvalidArgumentError(
      op,
      argument,
      `must be a tf.Tensor1D, a number[] or an Int32Array, got ${labels === null ? 'null' : typeof labels}`,
    );
  }
  if (shape[0] !== b) throw new ShapeError(op, argument, `[B=${b}]`, shape);
  const out = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= max) {
      const range = max === Infinity ? 'non-negative integers' : `integers in [0, ${max})`;
      throw new InvalidArgumentError(op, argument, `must hold ${range}, got ${String(v)} at index ${i}`);
    }
    out[i] = v;
  }
  return out;
}

/** Throws unless `value` is undefined or a boolean; returns it or the fallback. */
export function readBool(op: string, argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(op, argument, `must be a boolean, got ${String(value)}`);
  return value;
}

/** Throws unless `value` is one of `allowed` (or undefined → fallback). */
export function readChoice<T extends string>(
  op: string,
  argument: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      op,
      argument,
      `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(value)}`,
    );
  }
  return value as T;
}

/**
 * A float32 one-hot `[B, C]` built as int32 and then cast (tfjs-backend-wasm gives wrong values for a
 * float oneHot). Has no gradient (labels are constants).
 */
export function oneHotFloat(labels: Int32Array, c: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), c), 'float32') as tf.Tensor2D);
}
