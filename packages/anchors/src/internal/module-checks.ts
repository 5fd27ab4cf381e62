/**
 * Small argument checks shared by Constellation, Patchwork, the anchor losses and serialization
 * (internal; not exported from the package). They read metadata only, never tensor data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, InvalidArgumentError, ShapeError } from '@geolip/geometry';

/** Throws unless `value` is an integer in [min, max]. */
export function checkInteger(op: string, argument: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new InvalidArgumentError(op, argument, `must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number in [min, max] (`open` excludes the lower bound). */
export function checkNumber(op: string, argument: string, value: unknown, min = -Infinity, max = Infinity, open = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (open && value === min)) {
    const range = `${open ? '(' : '['}${min}, ${max}]`;
    throw new InvalidArgumentError(op, argument, `must be a finite number in ${range}, got ${String(value)}`);
  }
  return value;
}

/** Throws unless `value` is one of `allowed`. */
export function checkChoice<T extends string>(op: string, argument: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(op, argument, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/**
 * Checks a float32 tensor of rank 2 whose last size is `cols` (when given):
 * `op: 'x' must have shape [B, D=16], got [4, 8]`. Returns `[rows, cols]`.
 */
export function checkMatrixTensor(op: string, argument: string, value: unknown, rowLetter: string, colLetter: string, cols?: number): [number, number] {
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

/** `typeof`, with null and arrays spelled out, for messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}

/**
 * `tensor.dataSync()`, turning a backend that cannot read synchronously (webgpu in Node) into a
 * BackendError that names the public function and its async alternative.
 */
export function readSync(op: string, argument: string, tensor: tf.Tensor, hint: string): tf.TypedArray {
  try {
    return tensor.dataSync() as tf.TypedArray;
  } catch (e) {
    throw new BackendError(
      op,
      `cannot read '${argument}' synchronously on the '${tf.getBackend()}' backend (${e instanceof Error ? e.message : String(e)}); ${hint}`,
    );
  }
}
