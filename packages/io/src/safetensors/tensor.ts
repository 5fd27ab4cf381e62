/** Safetensors entries to float32 arrays and tfjs tensors. */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@geolip/geometry';
import { SAFETENSORS_DTYPES, isDtype, isNaturalArray } from './dtypes.js';
import { halfToFloatTable } from './float16.js';
import type { SafetensorEntry } from './types.js';
import { describe, formatShape, isNonNegativeInteger, product } from './util.js';

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

function checkEntry(op: string, entry: unknown): SafetensorEntry {
  if (entry === null || typeof entry !== 'object') {
    throw new InvalidArgumentError(
      op,
      'entry',
      `must be a safetensors entry { dtype, shape, data }, got ${describe(entry)}`,
    );
  }
  const { dtype, shape, data } = entry as { dtype?: unknown; shape?: unknown; data?: unknown };
  if (!isDtype(dtype))
    throw new InvalidArgumentError(
      op,
      'entry',
      `has unsupported dtype ${describe(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`,
    );
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw new InvalidArgumentError(
      op,
      'entry',
      `shape must be an array of non-negative integers, got ${
        Array.isArray(shape) ? formatShape(shape) : describe(shape)
      }`,
    );
  }
  if (!isNaturalArray(dtype, data)) {
    throw new InvalidArgumentError(
      op,
      'entry',
      `data for dtype ${dtype} must be the typed array readSafetensors returns, got ${describe(data)}`,
    );
  }
  const length = (data as ArrayLike<unknown>).length;
  if (length !== product(shape)) {
    throw new InvalidArgumentError(
      op,
      'entry',
      `has ${length} value(s) but shape ${formatShape(shape)} needs ${product(shape)}`,
    );
  }
  return entry as SafetensorEntry;
}

/**
 * The values of an entry as float32, whatever its dtype.
 *
 * F16 and BF16 bit patterns are decoded exactly; F64 values round to nearest float32
 * (beyond ±3.4028235e38 they become ±Infinity); integers convert exactly up to 2^24 in
 * magnitude and round beyond (I64/U64 go through the nearest double first); BOOL gives 0 or 1.
 *
 * @param entry - A {@link SafetensorEntry}, e.g. from {@link readSafetensors}.
 * @returns `[product(shape)]` a new Float32Array (never a view of the entry, even for F32).
 * @throws {InvalidArgumentError} If `entry` is not a well-formed entry (unknown dtype, data not
 *   the dtype's typed array, data length ≠ product(shape)).
 *
 * @example
 * toFloat32({ dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }); // Float32Array [1, -2]
 */
export function toFloat32(entry: SafetensorEntry): Float32Array {
  const e = checkEntry('toFloat32', entry);
  switch (e.dtype) {
    case 'F16': {
      const table = halfToFloatTable();
      const out = new Float32Array(e.data.length);
      for (let i = 0; i < out.length; i++) out[i] = table[e.data[i]!]!;
      return out;
    }
    case 'BF16': {
      const words = new Uint32Array(e.data.length);
      for (let i = 0; i < words.length; i++) words[i] = e.data[i]! << 16;
      return new Float32Array(words.buffer);
    }
    case 'I64':
    case 'U64': {
      const out = new Float32Array(e.data.length);
      for (let i = 0; i < out.length; i++) out[i] = Number(e.data[i]!);
      return out;
    }
    default:
      return Float32Array.from(e.data as ArrayLike<number>);
  }
}

/**
 * A tfjs tensor holding an entry's values.
 *
 * dtype mapping: F32, F64, F16, BF16 → float32 (as {@link toFloat32}); I8, I16, I32, U8, U16
 * → int32 (exact); U32, I64, U64 → int32 when every value lies in [−2^31, 2^31 − 1];
 * BOOL → bool.
 *
 * @param entry - A {@link SafetensorEntry}, e.g. from {@link readSafetensors}.
 * @returns A tensor of shape `entry.shape` (the data is copied; the tensor never aliases
 *   `entry.data` or the file buffer). One new tensor; the caller disposes it.
 * @throws {InvalidArgumentError} If `entry` is not a well-formed entry, or a U32/I64/U64 value
 *   does not fit in int32 (the message gives the first such element).
 *
 * @remarks
 * - Reads nothing back from the backend; uploads once. O(product(shape)).
 *
 * @example
 * const w = entryToTensor({ dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc000]) });
 * w.dataSync(); // Float32Array [1, -2]
 * w.dtype; // 'float32'
 */
export function entryToTensor(entry: SafetensorEntry): tf.Tensor {
  const op = 'entryToTensor';
  const e = checkEntry(op, entry);
  const shape = [...e.shape];
  switch (e.dtype) {
    case 'F32':
    case 'F64':
    case 'F16':
    case 'BF16':
      return tf.tensor(e.dtype === 'F32' ? e.data.slice() : toFloat32(e), shape, 'float32');
    case 'BOOL':
      return tf.tensor(e.data.slice(), shape, 'bool');
    case 'I32':
      return tf.tensor(e.data.slice(), shape, 'int32');
    case 'I8':
    case 'I16':
    case 'U8':
    case 'U16':
      return tf.tensor(Int32Array.from(e.data), shape, 'int32');
    case 'U32':
    case 'I64':
    case 'U64': {
      const out = new Int32Array(e.data.length);
      for (let i = 0; i < out.length; i++) {
        const v = e.data[i]!;
        const n =
          typeof v === 'bigint' ? (v >= -2147483648n && v <= 2147483647n ? Number(v) : NaN) : v <= 2147483647 ? v : NaN;
        if (Number.isNaN(n)) {
          throw new InvalidArgumentError(
            op,
            'entry',
            `${e.dtype} element ${i} (${String(v)}) does not fit in int32 [-2147483648, 2147483647]`,
          );
        }
        out[i] = n;
      }
      return tf.tensor(out, shape, 'int32');
    }
  }
}
