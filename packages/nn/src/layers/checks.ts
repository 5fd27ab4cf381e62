/**
 * Argument checks shared by the layers (internal; not exported from the package). They read tensor
 * metadata only (shape, dtype), never tensor data, so they cost nothing on a GPU backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '@geolip/geometry';
import { assertChoice, assertInteger, assertNumber, describeValue as describe } from '@geolip/geometry/checks';

// Shared with @geolip/geometry so every package words these errors the same way.
export { assertInteger, assertNumber, assertChoice as checkChoice, describe };

/** A positive integer size (`dim`, `heads`, …). */
export function checkSize(op: string, argument: string, value: unknown): number {
  return assertInteger(op, argument, value, 1);
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(op: string, argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(op, argument, `must be a boolean, got ${describe(value)}`);
  return value;
}

/** Throws unless `value` is a tf.Tensor. */
export function checkTensor(op: string, argument: string, value: unknown): tf.Tensor {
  if (!(value instanceof tf.Tensor))
    throw new InvalidArgumentError(op, argument, `must be a tf.Tensor, got ${describe(value)}`);
  if (value.isDisposed) throw new InvalidArgumentError(op, argument, 'was disposed');
  return value;
}

/**
 * A float32 tensor of exactly `pattern.length` dims whose sizes match `pattern` (numbers are literal
 * sizes, strings are labels shown in the message). Returns the shape.
 *
 * Message: `op: 'x' must have shape [B, L, D=32], got [2, 5, 16]`.
 */
export function checkFloatShape(
  op: string,
  argument: string,
  value: unknown,
  pattern: readonly (string | number)[],
): number[] {
  const t = checkTensor(op, argument, value);
  const ok = t.rank === pattern.length && pattern.every((p, i) => typeof p !== 'number' || t.shape[i] === p);
  if (!ok) throw new ShapeError(op, argument, describePattern(pattern), t.shape);
  if (t.dtype !== 'float32') throw new InvalidArgumentError(op, argument, `must have dtype float32, got ${t.dtype}`);
  return t.shape;
}

/**
 * A 0/1 mask of exactly `expected` shape, dtype float32, int32 or bool (read as 1 = keep, 0 = drop).
 * Returns it as float32 (the tensor itself when already float32, else a new cast the caller's tidy owns).
 */
export function checkMask(
  op: string,
  argument: string,
  value: unknown,
  expected: readonly number[],
  labels: readonly string[],
): tf.Tensor {
  const t = checkMaskShape(op, argument, value, expected, labels);
  return t.dtype === 'float32' ? t : tf.cast(t, 'float32');
}

/** {@link checkMask} without the cast (metadata only). */
export function checkMaskShape(
  op: string,
  argument: string,
  value: unknown,
  expected: readonly number[],
  labels: readonly string[],
): tf.Tensor {
  const t = checkTensor(op, argument, value);
  const ok = t.rank === expected.length && expected.every((s, i) => t.shape[i] === s);
  if (!ok) throw new ShapeError(op, argument, `[${expected.map((s, i) => `${labels[i]}=${s}`).join(', ')}]`, t.shape);
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') {
    throw new InvalidArgumentError(op, argument, `must have dtype float32, int32 or bool, got ${t.dtype}`);
  }
  return t;
}

/** An int32 tensor of ids of rank `rank`. */
export function checkIds(op: string, argument: string, value: unknown, rank?: number): tf.Tensor {
  const t = checkTensor(op, argument, value);
  if (rank !== undefined && t.rank !== rank) {
    throw new ShapeError(op, argument, rank === 2 ? '[B, L]' : `rank ${rank}`, t.shape);
  }
  if (t.dtype !== 'int32')
    throw new InvalidArgumentError(op, argument, `must have dtype int32 (token ids), got ${t.dtype}`);
  return t;
}

function describePattern(pattern: readonly (string | number)[]): string {
  return `[${pattern.map(String).join(', ')}]`;
}

/** Options objects may be omitted but must be objects when given. */
export function checkOptions<T extends object>(op: string, value: T | undefined): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(op, 'options', `must be an object, got ${describe(value)}`);
  }
  return value;
}
