import * as tf from '@tensorflow/tfjs-core';

import { Matrix } from '../linalg/matrix.js';

export interface CloseOptions {
  /** Absolute tolerance. Default: 1e-5 on float32 backends, 1e-2 on float16 ones, 1e-12 for float64 inputs. */
  atol?: number;
  /** Relative tolerance. Default: 1e-5 (1e-2 on float16 backends, 1e-10 for float64 inputs). */
  rtol?: number;
  /** Treat NaN as equal to NaN. Default false. */
  equalNaN?: boolean;
}

type Numeric = tf.Tensor | Matrix | number | ArrayLike<number> | NestedArray;
interface NestedArray extends ReadonlyArray<number | NestedArray> {}

function flatten(value: Numeric): { data: ArrayLike<number>; shape: number[]; float64: boolean } {
  if (value instanceof tf.Tensor)
    return { data: value.dataSync() as ArrayLike<number>, shape: value.shape, float64: false };
  if (value instanceof Matrix) return { data: value.data, shape: value.shape, float64: true };
  if (typeof value === 'number') return { data: [value], shape: [], float64: true };
  if (ArrayBuffer.isView(value))
    return {
      data: value as unknown as ArrayLike<number>,
      shape: [(value as unknown as ArrayLike<number>).length],
      float64: value instanceof Float64Array,
    };
  const out: number[] = [];
  const shape: number[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      if (shape.length <= depth) shape.push(v.length);
      for (const x of v) walk(x, depth + 1);
    } else out.push(v as number);
  };
  walk(value, 0);
  return { data: out, shape, float64: true };
}

/**
 * Elementwise closeness in the numpy `allclose` sense: |a − e| ≤ atol + rtol·|e|.
 * ±Infinity must match exactly (sign included); NaN matches NaN only with `equalNaN`.
 * Shapes must agree (a tensor of shape [n] and a flat array of n numbers agree).
 *
 * @throws {Error} describing the first mismatching index, the two values and the tolerance.
 */
export function expectTensorClose(actual: Numeric, expected: Numeric, options: CloseOptions = {}): void {
  const a = flatten(actual);
  const e = flatten(expected);
  const f16 = tf.getBackend() !== undefined && tf.backend().floatPrecision() === 16;
  const both64 = a.float64 && e.float64;
  const atol = options.atol ?? (both64 ? 1e-12 : f16 ? 1e-2 : 1e-5);
  const rtol = options.rtol ?? (both64 ? 1e-10 : f16 ? 1e-2 : 1e-5);
  const sameShape =
    a.shape.length === e.shape.length
      ? a.shape.every((d, i) => d === e.shape[i])
      : a.data.length === e.data.length && (a.shape.length <= 1 || e.shape.length <= 1);
  if (!sameShape || a.data.length !== e.data.length) {
    throw new Error(
      `expectTensorClose: shapes differ: actual [${a.shape.join(', ')}], expected [${e.shape.join(', ')}]`,
    );
  }
  let bad = 0;
  let first = -1;
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i]!;
    const y = e.data[i]!;
    let ok: boolean;
    if (Number.isNaN(x) || Number.isNaN(y)) ok = Number.isNaN(x) && Number.isNaN(y) && options.equalNaN === true;
    else if (!Number.isFinite(x) || !Number.isFinite(y)) ok = x === y;
    else {
      const diff = Math.abs(x - y);
      ok = diff <= atol + rtol * Math.abs(y);
      if (!ok) worst = Math.max(worst, diff);
    }
    if (!ok) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    throw new Error(
      `expectTensorClose: ${bad} of ${a.data.length} entries differ (atol ${atol}, rtol ${rtol}); ` +
        `first at flat index ${first}: actual ${a.data[first]}, expected ${e.data[first]}; ` +
        `largest finite |diff| ${worst}`,
    );
  }
}
