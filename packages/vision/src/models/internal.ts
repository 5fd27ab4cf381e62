/**
 * Internal helpers of the vision models (not exported from the package): the config checks and small tensor
 * helpers shared by the models.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';

/** Checks that every listed key of `config` is a positive integer; throws naming `config.<key>`. */
export function checkPositiveIntegers<T extends object>(
  op: string,
  config: T,
  keys: readonly (keyof T & string)[],
): void {
  for (const k of keys) {
    const v = config[k] as unknown;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new InvalidArgumentError(op, `config.${k}`, `must be a positive integer, got ${String(v)}`);
    }
  }
}

/** Rows divided by their L2 norm, `x / max(‖x‖, 1e-12)` (F.normalize). */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12)) as T);
}

/** `typeof`, with null, arrays and tensors spelled out, for messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof tf.Tensor) return `a ${value.dtype} tensor of shape [${value.shape.join(', ')}]`;
  return typeof value;
}
