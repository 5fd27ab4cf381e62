import * as tf from '@tensorflow/tfjs-core';

import { InvalidArgumentError } from '../errors.js';

/**
 * A value's kind for error messages: `null`, `an array`, a JSON-quoted string, `a float32 tensor of shape [2, 3]`,
 * else its `typeof`.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof tf.Tensor) return `a ${value.dtype} tensor of shape [${value.shape.join(', ')}]`;
  return typeof value;
}

/**
 * Throws {@link InvalidArgumentError} naming `op` and `argument` unless `value` is one of `allowed`:
 * `op: 'mode' must be one of 'a', 'b', got "c"`.
 */
export function assertChoice<T extends string>(op: string, argument: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      op,
      argument,
      `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describeValue(value)}`,
    );
  }
  return value as T;
}
