import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError, normalize } from '@geolip/geometry';

// Shared with @geolip/geometry so every package words these errors the same way.
export { assertInteger as checkInteger, readTensorSync as readSync } from '@geolip/geometry/checks';

/**
 * Shared plumbing of the anchor diagnostics and of {@link geometricAutograd} (internal, not
 * re-exported by the package entry except for the {@link AnchorSource} type): argument checks,
 * anchor resolution and synchronous reads with a clear error.
 * @internal
 */

/**
 * Where anchors come from: an `[A, D]` tensor (raw or already unit rows; the functions normalize
 * it themselves), or any object with a `normalizedAnchors()` method returning one, such as a
 * Constellation. The functions call `normalizedAnchors()` at most once per call, never keep the
 * returned tensor, and dispose it only if it was created during that call (a cached tensor the
 * object owns is left alone).
 */
export type AnchorSource = tf.Tensor2D | { normalizedAnchors(): tf.Tensor2D };

/** @internal Describes a value for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof tf.Tensor) return `a ${value.dtype} tensor of shape [${value.shape.join(', ')}]`;
  return typeof value;
}

/**
 * @internal Checks that `value` is a float32 rank-2 tensor with at least `minRows` rows and, when
 * given, `dim` columns. Returns [rows, cols]. Reads metadata only.
 */
export function checkMatrix(
  op: string,
  argument: string,
  value: unknown,
  letters: [string, string],
  options: { minRows?: number; dim?: number } = {},
): [number, number] {
  if (!(value instanceof tf.Tensor)) {
    throw new InvalidArgumentError(op, argument, `must be a tf.Tensor2D, got ${describeValue(value)}`);
  }
  const [rowLetter, colLetter] = letters;
  const expected = `[${rowLetter}, ${options.dim === undefined ? colLetter : `${colLetter}=${options.dim}`}]`;
  if (value.rank !== 2) throw new ShapeError(op, argument, expected, value.shape);
  const [rows, cols] = value.shape as [number, number];
  if (options.dim !== undefined && cols !== options.dim) throw new ShapeError(op, argument, expected, value.shape);
  const minRows = options.minRows ?? 1;
  if (rows < minRows) throw new ShapeError(op, argument, `${expected} with ${rowLetter} ≥ ${minRows}`, value.shape);
  if (value.dtype !== 'float32')
    throw new InvalidArgumentError(op, argument, `must have dtype float32, got ${value.dtype}`);
  return [rows, cols];
}

/** @internal Throws unless `value` is a finite number ≥ `min` (and ≤ `max`). */
export function checkNumber(
  op: string,
  argument: string,
  value: unknown,
  min: number,
  max = Infinity,
  exclusiveMin = false,
): number {
  const ok =
    typeof value === 'number' && Number.isFinite(value) && (exclusiveMin ? value > min : value >= min) && value <= max;
  if (!ok) {
    const lower = min === -Infinity ? '' : `${exclusiveMin ? '>' : '>='} ${min}`;
    const upper = max === Infinity ? '' : `<= ${max}`;
    const range = [lower, upper].filter(Boolean).join(' and ');
    throw new InvalidArgumentError(
      op,
      argument,
      `must be a finite number${range ? ` ${range}` : ''}, got ${String(value)}`,
    );
  }
  return value as number;
}

function isSourceObject(value: unknown): value is { normalizedAnchors(): tf.Tensor2D } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { normalizedAnchors?: unknown }).normalizedAnchors === 'function'
  );
}

/**
 * @internal The raw `[A, D]` tensor behind an {@link AnchorSource}: the tensor itself, or the result
 * of `normalizedAnchors()`. Checks shape (rank 2, `A ≥ minAnchors`, `D = dim` when given) and dtype.
 * Call inside `tf.tidy` (or a customGrad forward) when the source is an object, so that a fresh
 * tensor from `normalizedAnchors()` is disposed and a cached one is left alone.
 */
export function rawAnchors(
  op: string,
  source: unknown,
  options: { argument?: string; dim?: number; minAnchors?: number } = {},
): tf.Tensor2D {
  const argument = options.argument ?? 'anchors';
  let tensor: unknown = source;
  if (!(source instanceof tf.Tensor)) {
    if (!isSourceObject(source)) {
      throw new InvalidArgumentError(
        op,
        argument,
        `must be a tf.Tensor2D [A, D] or an object with normalizedAnchors(), got ${describeValue(source)}`,
      );
    }
    tensor = source.normalizedAnchors();
    if (!(tensor instanceof tf.Tensor)) {
      throw new InvalidArgumentError(
        op,
        argument,
        `normalizedAnchors() must return a tf.Tensor2D, got ${describeValue(tensor)}`,
      );
    }
  }
  checkMatrix(op, argument, tensor, ['A', 'D'], { minRows: options.minAnchors ?? 1, dim: options.dim });
  return tensor as tf.Tensor2D;
}

/** @internal Checks the metadata of a tensor source up front (objects are checked when resolved). */
export function checkAnchorSource(
  op: string,
  source: unknown,
  options: { argument?: string; dim?: number; minAnchors?: number } = {},
): void {
  if (source instanceof tf.Tensor) rawAnchors(op, source, options);
  else if (!isSourceObject(source)) rawAnchors(op, source, options); // throws the InvalidArgumentError
}

/**
 * @internal A new `[A, D]` tensor of unit rows, Â = A / max(‖A‖, 1e-12), that the caller owns and
 * must dispose. A fresh tensor from `normalizedAnchors()` is disposed here; a cached one is not.
 */
export function unitAnchors(
  op: string,
  source: unknown,
  options: { argument?: string; dim?: number; minAnchors?: number } = {},
): tf.Tensor2D {
  return tf.tidy(() => normalize(rawAnchors(op, source, options)));
}

/**
 * @internal Checks labels (length N, safe integers: negative and large values are fine, only
 * equality matters) and returns a float64 copy of them.
 */
export function checkLabels(op: string, labels: unknown, n: number): Float64Array {
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) {
    throw new InvalidArgumentError(
      op,
      'labels',
      `must be an Int32Array or an array of integers, got ${describeValue(labels)}`,
    );
  }
  if (labels.length !== n) throw new ShapeError(op, 'labels', `[N=${n}]`, [labels.length]);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const label: unknown = labels[i];
    if (typeof label !== 'number' || !Number.isSafeInteger(label)) {
      throw new InvalidArgumentError(op, 'labels', `must hold integers, got ${String(label)} at index ${i}`);
    }
    out[i] = label;
  }
  return out;
}
